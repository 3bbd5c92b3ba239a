"""Vendor claims: a claims file loaded and checked (``load``), expanded into a matrix and a selection
of the suites' cells (``plan``, ``catalog``), judged cell by cell (``judge``), and written as
claims.json, an HTML report, JUnit and a badge."""
