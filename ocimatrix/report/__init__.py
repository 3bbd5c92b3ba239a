"""The published compatibility matrix: results.json -> a static site (and Allure).

- ``site.write_site(results_paths, out_dir, baseline=None, history=None) -> Path``: the site.
- ``schema.validate_results_file(path)``: check a results.json against schemas/results.schema.json.
- ``model``: the compact data the page's JavaScript reads; ``history`` / ``svg``: pass-rate history.
- ``allure.generate_allure_report(results_dir, out_dir)``: Allure 2 HTML, offline.
- ``browser``: Debian's chromium through Playwright, for the site tests and the benchmark.
"""
