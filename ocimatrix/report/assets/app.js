/* ocimatrix compatibility matrix: the client side of the static site.
 *
 * Plain browser JavaScript, no library and no network: data/index.js calls OCIMATRIX.load() with
 * column arrays (one entry per record, strings interned in data.strings); data/details-NNNN.js
 * files carry the full reason, repro and evidence and are added as <script> tags on demand, the one
 * way to load data that also works from file://. State (filters, open record) lives in the URL
 * hash, so every view can be linked to.
 */
(function () {
  "use strict";

  var OM = (window.OCIMATRIX = window.OCIMATRIX || {});
  var D = null;
  var detailChunks = [];
  var chunkWaiters = {};

  OM.load = function (data) {
    D = data;
  };
  OM.details = function (chunk, items) {
    detailChunks[chunk] = items;
    (chunkWaiters[chunk] || []).forEach(function (f) {
      f(null);
    });
    delete chunkWaiters[chunk];
  };

  var SYMBOL = { passed: "\u2713", failed: "\u2717", error: "!", skipped: "\u2013", xfailed: "\u00d7" };
  var LABEL = { passed: "passed", failed: "failed", error: "error", skipped: "skipped", xfailed: "xfailed" };
  var CHANGE_LABEL = {
    regression: "regression",
    "new-failure": "new failure",
    fix: "fixed",
    "now-skipped": "now skipped",
    "now-running": "now running",
    missing: "missing",
  };
  var FIRST_ROWS = 40;
  var MORE_ROWS = 200;
  var OPEN_ALL_BELOW = 300;

  // ------------------------------------------------------------------ small helpers

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) continue;
        if (key === "text") node.textContent = value;
        else if (key === "class") node.className = value;
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : value);
      }
    }
    if (children) {
      for (var i = 0; i < children.length; i++) {
        var child = children[i];
        if (child === null || child === undefined || child === false) continue;
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    }
    return node;
  }

  function fmtInt(n) {
    return n.toLocaleString("en-US");
  }

  function fmtDuration(ms) {
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  }

  function badge(outcome) {
    return el("span", { class: "badge o-" + outcome }, [
      el("span", { class: "sym", "aria-hidden": "true", text: SYMBOL[outcome] }),
      LABEL[outcome],
    ]);
  }

  function changeBadge(kind) {
    return el("span", { class: "change c-" + kind, text: CHANGE_LABEL[kind] || kind });
  }

  // ------------------------------------------------------------------ derived tables (computed once)

  var N = 0;
  var S, R, axes, cellAxes, outcomes, changeKinds;
  var findings, tools, findingOf, cellTool;
  var findingIndex = {};
  var testLower = {};

  function prepare() {
    S = D.strings;
    R = D.r;
    N = R.out.length;
    axes = D.axes;
    outcomes = D.outcomes;
    changeKinds = D.changeKinds;
    findings = D.findings || [];
    tools = D.tools || [];
    findingOf = new Int32Array(N).fill(-1);
    findings.forEach(function (f, k) {
      findingIndex[f.id] = k;
      f.recs.forEach(function (i) {
        findingOf[i] = k;
      });
    });
    cellTool = { builder: [], engine: [] };
    D.cells.forEach(function (cell, c) {
      cellTool.builder[c] = cellTool.engine[c] = -1;
      (cell.t || []).forEach(function (t) {
        if (cellTool[tools[t].role]) cellTool[tools[t].role][c] = t;
      });
    });
    cellAxes = D.cells.map(function (cell) {
      return cell.a.map(function (i) {
        return i < 0 ? null : S[i];
      });
    });
  }

  function testName(i) {
    return S[R.test[i]];
  }

  function shortName(base) {
    var cut = base.lastIndexOf("::");
    return cut < 0 ? base : base.slice(cut + 2);
  }

  function lowerTest(strIndex) {
    var v = testLower[strIndex];
    if (v === undefined) v = testLower[strIndex] = S[strIndex].toLowerCase();
    return v;
  }

  function versionsOf(tool) {
    var seen = {};
    D.cells.forEach(function (cell) {
      cell.v.forEach(function (pair) {
        if (S[pair[0]] === tool) seen[S[pair[1]]] = true;
      });
    });
    return Object.keys(seen);
  }

  // ------------------------------------------------------------------ state <-> URL hash

  var VIEWS = ["findings", "interop", "versions", "results"];
  var DEFAULT_VIEW = "findings";
  var state = { view: DEFAULT_VIEW, finding: "", axis: {}, out: [], chg: "", q: "", rows: "", cols: "", r: -1 };

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var view = params.get("view");
    state.view = VIEWS.indexOf(view) >= 0 ? view : DEFAULT_VIEW;
    var finding = params.get("finding") || "";
    state.finding = findingIndex[finding] !== undefined ? finding : "";
    state.axis = {};
    axes.forEach(function (a) {
      var v = params.get(a);
      if (v) state.axis[a] = v;
    });
    state.out = (params.get("outcome") || "").split(",").filter(function (o) {
      return outcomes.indexOf(o) >= 0;
    });
    state.chg = params.get("change") || "";
    state.q = params.get("q") || "";
    state.rows = params.get("rows") || state.rows;
    state.cols = params.get("cols") || state.cols;
    var r = parseInt(params.get("r"), 10);
    state.r = r >= 0 && r < N ? r : -1;
  }

  function hashOf(withRecord) {
    var params = new URLSearchParams();
    if (state.view !== DEFAULT_VIEW) params.set("view", state.view);
    if (state.finding) params.set("finding", state.finding);
    axes.forEach(function (a) {
      if (state.axis[a]) params.set(a, state.axis[a]);
    });
    if (state.out.length) params.set("outcome", state.out.join(","));
    if (state.chg) params.set("change", state.chg);
    if (state.q) params.set("q", state.q);
    if (state.rows !== defaultPivot().rows) params.set("rows", state.rows);
    if (state.cols !== defaultPivot().cols) params.set("cols", state.cols);
    if (withRecord >= 0) params.set("r", String(withRecord));
    var text = params.toString();
    return text ? "#" + text : location.pathname + location.search;
  }

  function saveState() {
    history.replaceState(null, "", hashOf(state.r));
  }

  // ------------------------------------------------------------------ filtering

  var filtered = null; // Int32Array of record indexes passing the filters, in page order

  function applyFilters() {
    var cellOk = cellAxes.map(function (values) {
      for (var a = 0; a < axes.length; a++) {
        var want = state.axis[axes[a]];
        if (want && (values[a] === null ? "\u2205" : values[a]) !== want) return false;
      }
      return true;
    });
    var outOk = outcomes.map(function (o) {
      return !state.out.length || state.out.indexOf(o) >= 0;
    });
    var chgCode = state.chg ? changeKinds.indexOf(state.chg) + 1 : 0;
    var only = state.finding ? findingIndex[state.finding] : -1;
    var q = state.q.trim().toLowerCase();
    var out = new Int32Array(N);
    var n = 0;
    var cell = R.cell,
      oc = R.out,
      chg = R.chg,
      test = R.test,
      param = R.param;
    for (var i = 0; i < N; i++) {
      if (!cellOk[cell[i]] || !outOk[oc[i]]) continue;
      if (only >= 0 && findingOf[i] !== only) continue;
      if (state.chg === "any" ? chg[i] === 0 : chgCode && chg[i] !== chgCode) continue;
      if (q && lowerTest(test[i]).indexOf(q) < 0 && param[i].toLowerCase().indexOf(q) < 0) continue;
      out[n++] = i;
    }
    filtered = out.subarray(0, n);
  }

  // ------------------------------------------------------------------ toolbar (filters and search)

  var countEl;

  function axisValueCounts(axisIndex) {
    var counts = {};
    var cell = R.cell;
    for (var i = 0; i < N; i++) {
      var v = cellAxes[cell[i]][axisIndex];
      var key = v === null ? "\u2205" : v;
      counts[key] = (counts[key] || 0) + 1;
    }
    return counts;
  }

  function buildToolbar() {
    var bar = document.getElementById("filters");
    bar.textContent = "";
    var search = el("input", {
      type: "search",
      id: "search",
      placeholder: "test name or parameters",
      value: state.q,
      autocomplete: "off",
      spellcheck: "false",
    });
    var timer = null;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        state.q = search.value;
        update();
      }, 150);
    });
    search.addEventListener("keydown", function (e) {
      if (e.key === "Enter") e.preventDefault();
    });
    bar.appendChild(el("div", { class: "field grow" }, [el("label", { for: "search", text: "Search" }), search]));

    var totals = outcomes.map(function () {
      return 0;
    });
    for (var i = 0; i < N; i++) totals[R.out[i]]++;
    var toggles = el("div", { class: "toggles", role: "group", "aria-labelledby": "outcome-label" });
    outcomes.forEach(function (o, k) {
      if (!totals[k]) return;
      toggles.appendChild(
        el(
          "button",
          {
            type: "button",
            class: "toggle o-" + o,
            "data-outcome": o,
            "aria-pressed": state.out.indexOf(o) >= 0 ? "true" : "false",
            onclick: function () {
              var at = state.out.indexOf(o);
              if (at >= 0) state.out.splice(at, 1);
              else state.out.push(o);
              this.setAttribute("aria-pressed", at >= 0 ? "false" : "true");
              update();
            },
          },
          [el("span", { class: "sym", "aria-hidden": "true", text: SYMBOL[o] }), LABEL[o] + " ", el("small", { text: fmtInt(totals[k]) })]
        )
      );
    });
    if (toggles.childNodes.length)
      bar.appendChild(
        el("div", { class: "field" }, [el("span", { class: "label", id: "outcome-label", text: "Outcome" }), toggles])
      );

    axes.forEach(function (axis, a) {
      var counts = axisValueCounts(a);
      var values = Object.keys(counts).sort();
      if (values.length < 2 && !state.axis[axis]) return;
      var select = el("select", { id: "f-" + axis, "data-axis": axis }, [el("option", { value: "", text: "all" })]);
      values.forEach(function (v) {
        select.appendChild(
          el("option", { value: v, text: (v === "\u2205" ? "(none)" : v) + "  (" + fmtInt(counts[v]) + ")" })
        );
      });
      select.value = state.axis[axis] || "";
      select.addEventListener("change", function () {
        if (select.value) state.axis[axis] = select.value;
        else delete state.axis[axis];
        update();
      });
      bar.appendChild(el("div", { class: "field" }, [el("label", { for: "f-" + axis, text: axis }), select]));
    });

    if (D.baseline) {
      var chgSelect = el("select", { id: "f-change" }, [
        el("option", { value: "", text: "all" }),
        el("option", { value: "any", text: "any change" }),
      ]);
      changeKinds.forEach(function (k) {
        if (k !== "missing") chgSelect.appendChild(el("option", { value: k, text: CHANGE_LABEL[k] }));
      });
      chgSelect.value = state.chg;
      chgSelect.addEventListener("change", function () {
        state.chg = chgSelect.value;
        update();
      });
      bar.appendChild(el("div", { class: "field" }, [el("label", { for: "f-change", text: "vs baseline" }), chgSelect]));
    }

    bar.appendChild(
      el("div", { class: "field" }, [
        el("span", { class: "label", "aria-hidden": "true", text: "\u00a0" }),
        el("button", {
          type: "button",
          class: "plain-button",
          id: "clear-filters",
          text: "Clear filters",
          onclick: function () {
            state.axis = {};
            state.out = [];
            state.chg = "";
            state.q = "";
            state.finding = "";
            buildToolbar();
            update();
          },
        }),
      ])
    );
    countEl = document.getElementById("result-count");
  }

  // ------------------------------------------------------------------ overview grid (pivot)

  function defaultPivot() {
    var rows = axes.indexOf("engine") >= 0 ? "engine" : axes[0] || "";
    var cols = ["runtime", "platform"].filter(function (a) {
      return axes.indexOf(a) >= 0 && a !== rows;
    });
    if (!cols.length) {
      cols = axes.filter(function (a) {
        return a !== rows;
      }).slice(0, 1);
    }
    return { rows: rows, cols: cols.join("*") };
  }

  function pivotOptions(exclude) {
    var options = axes.filter(function (a) {
      return a !== exclude;
    });
    var pairs = [];
    for (var i = 0; i < options.length; i++) {
      for (var j = i + 1; j < options.length; j++) pairs.push(options[i] + "*" + options[j]);
    }
    return options.concat(pairs);
  }

  function pivotLabel(key) {
    return key ? key.split("*").join(" \u00d7 ") : "(all)";
  }

  function buildPivotControls() {
    var box = document.getElementById("pivot-controls");
    box.textContent = "";
    if (!axes.length) return;
    function selector(id, label, value, options, onchange) {
      var select = el("select", { id: id });
      options.forEach(function (o) {
        select.appendChild(el("option", { value: o, text: pivotLabel(o) }));
      });
      select.value = value;
      select.addEventListener("change", function () {
        onchange(select.value);
      });
      return el("div", { class: "field" }, [el("label", { for: id, text: label }), select]);
    }
    box.appendChild(
      selector("pivot-rows", "Rows", state.rows, axes.slice(), function (v) {
        state.rows = v;
        // An axis cannot be on both sides: drop it from the columns.
        state.cols = state.cols
          .split("*")
          .filter(function (a) {
            return a && a !== v;
          })
          .join("*");
        buildPivotControls();
        update();
      })
    );
    box.appendChild(
      selector("pivot-cols", "Columns", state.cols, [""].concat(pivotOptions(state.rows)), function (v) {
        state.cols = v;
        update();
      })
    );
  }

  // Colour buckets of the pass rate (passed over what ran; a known incompatibility, xfailed, counts
  // as not passing); see the legend in index.html.
  function statusOf(c) {
    var pass = c[0],
      bad = c[1] + c[3] + c[4];
    if (!pass && !bad) return c[2] ? "skip" : "none";
    // Only harness errors: nothing is known about the tools here, so not the colour of a failure.
    if (!pass && !c[1] && !c[4]) return "error";
    var rate = pass / (pass + bad);
    if (rate === 1) return "pass";
    if (rate >= 0.9) return "high";
    if (rate >= 0.5) return "mid";
    return "low";
  }

  function rateText(c) {
    var pass = c[0],
      bad = c[1] + c[3] + c[4];
    if (!pass && !bad) return "skipped";
    var pct = (100 * pass) / (pass + bad);
    // Never round a failing cell up to 100%, nor a passing one down to 0%.
    var shown = pct > 99 && pct < 100 ? Math.floor(pct) : pct < 1 && pct > 0 ? Math.ceil(pct) : Math.round(pct);
    return shown + "%";
  }

  function countText(c) {
    var parts = [];
    var names = [];
    outcomes.forEach(function (o, k) {
      if (c[k]) names.push(fmtInt(c[k]) + " " + LABEL[o]);
    });
    var pass = c[0],
      bad = c[1],
      broke = c[3],
      known = c[4];
    parts.push(el("span", { class: "rate", text: rateText(c) }));
    var line = el("span", { class: "tally" });
    if (pass) line.appendChild(el("span", { class: "n-pass" }, [el("span", { "aria-hidden": "true", text: SYMBOL.passed }), fmtInt(pass)]));
    if (bad) line.appendChild(el("span", { class: "n-fail" }, [el("span", { "aria-hidden": "true", text: SYMBOL.failed }), fmtInt(bad)]));
    if (broke) line.appendChild(el("span", { class: "n-error" }, [el("span", { "aria-hidden": "true", text: SYMBOL.error }), fmtInt(broke)]));
    if (known) line.appendChild(el("span", { class: "n-known" }, [el("span", { "aria-hidden": "true", text: SYMBOL.xfailed }), fmtInt(known)]));
    if (c[2]) line.appendChild(el("span", { class: "n-skip" }, [el("span", { "aria-hidden": "true", text: SYMBOL.skipped }), fmtInt(c[2])]));
    parts.push(line);
    return { nodes: parts, words: names.join(", ") };
  }

  function keyOf(values) {
    return values.join("\u0001");
  }

  function renderGrid() {
    var host = document.getElementById("grid");
    host.textContent = "";
    var rowAxes = state.rows ? state.rows.split("*") : [];
    var colAxes = state.cols ? state.cols.split("*") : [];
    var rowIdx = rowAxes.map(function (a) {
      return axes.indexOf(a);
    });
    var colIdx = colAxes.map(function (a) {
      return axes.indexOf(a);
    });
    function valuesOf(cell, idx) {
      return idx.map(function (a) {
        var v = cellAxes[cell][a];
        return v === null ? "\u2205" : v;
      });
    }
    // Row and column keys come from every record, not the filtered ones, so the grid keeps its shape
    // while filtering and an emptied cell shows as empty rather than vanishing.
    var cellRow = [],
      cellCol = [],
      rowKeys = {},
      colKeys = {};
    cellAxes.forEach(function (_, c) {
      var rv = valuesOf(c, rowIdx),
        cv = valuesOf(c, colIdx);
      cellRow[c] = keyOf(rv);
      cellCol[c] = keyOf(cv);
      rowKeys[cellRow[c]] = rv;
      colKeys[cellCol[c]] = cv;
    });
    var rows = Object.keys(rowKeys).sort(),
      cols = Object.keys(colKeys).sort();
    var counts = {},
      regress = {};
    for (var n = 0; n < filtered.length; n++) {
      var i = filtered[n],
        c = R.cell[i];
      var k = cellRow[c] + "\u0002" + cellCol[c];
      var slot = counts[k] || (counts[k] = [0, 0, 0, 0, 0]);
      slot[R.out[i]]++;
      if (R.chg[i] === 1 || R.chg[i] === 2) regress[k] = true;
    }

    var table = el("table", { class: "grid" });
    table.appendChild(el("caption", { class: "sr-only", text: "Outcome counts by " + pivotLabel(state.rows) + " and " + pivotLabel(state.cols) }));
    var thead = el("thead");
    var levels = Math.max(colAxes.length, 1);
    for (var level = 0; level < levels; level++) {
      var tr = el("tr");
      if (level === 0) {
        tr.appendChild(
          el("th", { scope: "col", class: "corner", rowspan: String(levels) }, [
            el("span", { class: "corner-rows", text: pivotLabel(state.rows) }),
            el("span", { class: "corner-cols", text: pivotLabel(state.cols) + " \u2192" }),
          ])
        );
      }
      for (var ci = 0; ci < cols.length; ) {
        var vals = colKeys[cols[ci]];
        var label = colAxes.length ? vals[level] : "all";
        var span = 1;
        // Merge neighbours sharing the same prefix up to this level into one header.
        while (
          ci + span < cols.length &&
          level < colAxes.length - 1 &&
          keyOf(colKeys[cols[ci + span]].slice(0, level + 1)) === keyOf(vals.slice(0, level + 1))
        )
          span++;
        tr.appendChild(el("th", { scope: span > 1 ? "colgroup" : "col", colspan: span > 1 ? String(span) : null, text: label === "\u2205" ? "(none)" : label }));
        ci += span;
      }
      thead.appendChild(tr);
    }
    table.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (rk) {
      var rv = rowKeys[rk];
      var head = el("th", { scope: "row" }, [el("span", { class: "row-name", text: rv.join(" / ").replace("\u2205", "(none)") })]);
      if (rowAxes.length === 1) {
        var versions = versionsOf(rv[0]);
        if (versions.length) head.appendChild(el("span", { class: "row-version", text: versions.join(", ") }));
      }
      var tr = el("tr", null, [head]);
      cols.forEach(function (ck) {
        var k = rk + "\u0002" + ck;
        var c = counts[k] || [0, 0, 0, 0, 0];
        var status = statusOf(c);
        if (status === "none") {
          tr.appendChild(el("td", { class: "st-none" }, [el("span", { class: "sr-only", text: "no results" }), el("span", { "aria-hidden": "true", text: "\u00b7" })]));
          return;
        }
        var text = countText(c);
        var where = rv.concat(colKeys[ck]).join(" / ");
        var button = el(
          "button",
          {
            type: "button",
            class: "gcell st-" + status + (regress[k] ? " has-regression" : ""),
            "aria-label": where + ": " + text.words + (regress[k] ? ", includes regressions" : "") + ". Show these results.",
            title: where + "\n" + text.words,
            onclick: function () {
              rowAxes.forEach(function (a, j) {
                state.axis[a] = rv[j];
              });
              colAxes.forEach(function (a, j) {
                state.axis[a] = colKeys[ck][j];
              });
              buildToolbar();
              update();
              document.getElementById("results").scrollIntoView({ behavior: "smooth", block: "start" });
            },
          },
          text.nodes.concat(regress[k] ? [el("span", { class: "n-regress", "aria-hidden": "true", text: "\u25bc" })] : [])
        );
        tr.appendChild(el("td", { class: "st-" + status }, [button]));
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    host.appendChild(table);
  }

  // ------------------------------------------------------------------ changes since the baseline

  function renderChanges() {
    var box = document.getElementById("changes");
    if (!D.baseline) return;
    box.hidden = false;
    box.textContent = "";
    var byKind = {};
    for (var i = 0; i < N; i++) {
      var code = R.chg[i];
      if (code) (byKind[changeKinds[code - 1]] = byKind[changeKinds[code - 1]] || []).push(i);
    }
    var base = D.baseline;
    box.appendChild(el("h2", { id: "changes-h", text: "Changes since the baseline" }));
    box.appendChild(
      el("p", { class: "meta" }, [
        "Compared with ",
        el("code", { text: base.file }),
        " (" + (base.host || "?") + ", started " + (base.started || "?") + "). Regressions and new failures come first.",
      ])
    );
    var missing = D.missing || [];
    var any = false;
    changeKinds.forEach(function (kind) {
      var list = kind === "missing" ? missing : byKind[kind] || [];
      if (!list.length) return;
      any = true;
      var severe = kind === "regression" || kind === "new-failure";
      var details = el("details", { class: "change-group k-" + kind, open: severe || kind === "fix" ? true : null });
      details.appendChild(el("summary", null, [changeBadge(kind), " " + fmtInt(list.length) + " " + (list.length === 1 ? "case" : "cases")]));
      var ul = el("ul", { class: "rows" });
      var shown = 0;
      function more() {
        var stop = Math.min(list.length, shown + 50);
        for (; shown < stop; shown++) {
          if (kind === "missing") {
            var m = list[shown];
            ul.appendChild(el("li", { class: "row static" }, [badge(m[2]), el("span", { class: "name", text: m[0] }), el("span", { class: "chips", text: m[1] })]));
          } else ul.appendChild(rowItem(list[shown], kind));
        }
        if (moreButton) moreButton.hidden = shown >= list.length;
      }
      var moreButton = el("button", { type: "button", class: "plain-button more", text: "Show more", onclick: more });
      details.appendChild(ul);
      details.appendChild(moreButton);
      more();
      box.appendChild(details);
    });
    if (!any) box.appendChild(el("p", { class: "all-good", text: "No regressions, fixes or coverage changes." }));
  }

  // ------------------------------------------------------------------ results grouped by suite and spec section

  var SEVERITY = [3, 0, 4, 1, 2]; // order rows: failed, error, xfailed, passed, skipped

  function rowItem(i, changeKind) {
    var o = outcomes[R.out[i]];
    var chips = el("span", { class: "chips" });
    var values = cellAxes[R.cell[i]];
    for (var a = 0; a < axes.length; a++) {
      if (values[a] !== null) chips.appendChild(el("span", { class: "chip", title: axes[a] + ": " + values[a], text: values[a] }));
    }
    var kind = changeKind || (R.chg[i] ? changeKinds[R.chg[i] - 1] : "");
    var reason = R.reason[i] >= 0 ? S[R.reason[i]] : "";
    var base = testName(i);
    var link = el(
      "a",
      { href: hashOf(i), class: "row-link", "data-r": String(i), title: base + (R.param[i] ? "[" + R.param[i] + "]" : "") },
      [
        badge(o),
        el("span", { class: "name", text: shortName(base) }),
        chips,
        kind ? changeBadge(kind) : null,
        R.flag[i] === 2 ? el("span", { class: "change c-conflict", text: "shard conflict" }) : null,
        el("span", { class: "dur", text: fmtDuration(R.dur[i]) }),
        reason && o !== "passed" ? el("span", { class: "why", text: reason }) : null,
      ]
    );
    link.addEventListener("click", function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
      e.preventDefault();
      openDetail(i, true);
    });
    return el("li", { class: "row r-" + o }, [link]);
  }

  function groupCounts(list) {
    var c = [0, 0, 0, 0, 0];
    for (var k = 0; k < list.length; k++) c[R.out[list[k]]]++;
    return c;
  }

  function countBadges(c) {
    var box = el("span", { class: "counts" });
    outcomes.forEach(function (o, k) {
      if (c[k]) box.appendChild(el("span", { class: "count o-" + o, title: LABEL[o] }, [el("span", { class: "sym", "aria-hidden": "true", text: SYMBOL[o] }), " " + fmtInt(c[k]), el("span", { class: "sr-only", text: " " + LABEL[o] })]));
    });
    return box;
  }

  function renderResults() {
    var host = document.getElementById("groups");
    host.textContent = "";
    if (!filtered.length) {
      host.appendChild(el("p", { class: "empty", text: N ? "No result matches these filters." : "This run has no results." }));
      return;
    }
    var bySuite = [],
      suiteOf = {},
      byGroup = {};
    for (var n = 0; n < filtered.length; n++) {
      var i = filtered[n],
        g = R.group[i];
      if (!byGroup[g]) {
        byGroup[g] = [];
        var suite = S[D.groups[g][0]];
        if (!suiteOf[suite]) {
          suiteOf[suite] = [];
          bySuite.push(suite);
        }
        suiteOf[suite].push(g);
      }
      byGroup[g].push(i);
    }
    var openAll = filtered.length <= OPEN_ALL_BELOW;
    bySuite.forEach(function (suite) {
      var all = [];
      suiteOf[suite].forEach(function (g) {
        all = all.concat(byGroup[g]);
      });
      var section = el("section", { class: "suite", "aria-label": "suite " + suite });
      section.appendChild(el("h3", null, [el("span", { text: suite || "(no suite)" }), countBadges(groupCounts(all))]));
      suiteOf[suite].forEach(function (g) {
        var list = byGroup[g].slice().sort(function (a, b) {
          return SEVERITY[R.out[a]] - SEVERITY[R.out[b]] || a - b;
        });
        var c = groupCounts(list);
        var open = openAll || c[1] + c[3] > 0;
        var name = S[D.groups[g][1]] || "(no spec section)";
        var url = S[D.groups[g][2]];
        var details = el("details", { class: "group", open: open ? true : null });
        var summary = el("summary", null, [
          el("span", { class: "section-name", text: name }),
          url ? el("a", { href: url, class: "spec-link", target: "_blank", rel: "noopener", text: "spec text \u2197" }) : null,
          countBadges(c),
        ]);
        details.appendChild(summary);
        var ul = el("ul", { class: "rows" });
        var shown = 0;
        var moreButton = el("button", { type: "button", class: "plain-button more" });
        function more(step) {
          var stop = Math.min(list.length, shown + step);
          var frag = document.createDocumentFragment();
          for (; shown < stop; shown++) frag.appendChild(rowItem(list[shown]));
          ul.appendChild(frag);
          moreButton.hidden = shown >= list.length;
          moreButton.textContent = "Show " + fmtInt(Math.min(MORE_ROWS, list.length - shown)) + " more of " + fmtInt(list.length - shown);
        }
        moreButton.addEventListener("click", function () {
          more(MORE_ROWS);
        });
        details.appendChild(ul);
        details.appendChild(moreButton);
        // Rows are drawn only for open groups: a closed one costs one element until it is opened.
        if (open) more(FIRST_ROWS);
        else
          details.addEventListener("toggle", function first() {
            if (details.open && !shown) more(FIRST_ROWS);
          });
        section.appendChild(details);
      });
      host.appendChild(section);
    });
  }

  // ------------------------------------------------------------------ record detail

  function loadChunk(chunk, done) {
    if (detailChunks[chunk]) return done(null);
    if (chunkWaiters[chunk]) return chunkWaiters[chunk].push(done);
    chunkWaiters[chunk] = [done];
    var name = "data/details-" + String(chunk).padStart(4, "0") + ".js";
    var script = el("script", { src: name + "?v=" + (document.documentElement.dataset.build || "") });
    script.onerror = function () {
      var waiters = chunkWaiters[chunk] || [];
      delete chunkWaiters[chunk];
      waiters.forEach(function (f) {
        f("could not load " + name + " (is the data/ folder next to index.html?)");
      });
    };
    document.head.appendChild(script);
  }

  function copyText(text, button, status) {
    function done(ok) {
      status.textContent = ok ? "Copied to the clipboard." : "Copy failed: select the text and copy it by hand.";
      button.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(function () {
        button.textContent = button.dataset.label;
      }, 1600);
    }
    function fallback() {
      var area = el("textarea", { class: "offscreen", readonly: true });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      button.focus();
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        done(true);
      }, fallback);
    } else fallback();
  }

  function kv(rows) {
    var dl = el("dl", { class: "kv" });
    rows.forEach(function (r) {
      if (r[1] === null || r[1] === undefined || r[1] === "") return;
      dl.appendChild(el("dt", { text: r[0] }));
      dl.appendChild(el("dd", null, [r[1]]));
    });
    return dl;
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  var dialog, dialogBody, openedWithPush = false;

  function renderDetail(i, info, error) {
    var o = outcomes[R.out[i]];
    var group = D.groups[R.group[i]];
    var cell = D.cells[R.cell[i]];
    var kind = R.chg[i] ? changeKinds[R.chg[i] - 1] : "";
    dialogBody.textContent = "";
    var base = testName(i);
    document.getElementById("detail-title").textContent = shortName(base);
    var head = el("div", { class: "detail-head" }, [badge(o), kind ? changeBadge(kind) : null, R.flag[i] === 2 ? el("span", { class: "change c-conflict", text: "shard conflict" }) : null]);
    dialogBody.appendChild(head);
    dialogBody.appendChild(el("p", { class: "node-id" }, [el("code", { text: info ? info.test : base + (R.param[i] ? "[" + R.param[i] + "]" : "") })]));
    var specUrl = S[group[2]];
    var cellTable = el("table", { class: "plain" }, [
      el(
        "tbody",
        null,
        axes
          .map(function (a, k) {
            var v = cellAxes[R.cell[i]][k];
            return v === null ? null : el("tr", null, [el("th", { scope: "row", text: a }), el("td", { text: v })]);
          })
          .filter(Boolean)
      ),
    ]);
    var versions = el(
      "table",
      { class: "plain" },
      [
        el(
          "tbody",
          null,
          cell.v.map(function (pair) {
            return el("tr", null, [el("th", { scope: "row", text: S[pair[0]] }), el("td", { text: S[pair[1]] })]);
          })
        ),
      ]
    );
    var evidence = info && info.evidence ? info.evidence : null;
    dialogBody.appendChild(
      kv([
        ["suite", S[group[0]]],
        ["spec", S[group[1]] ? (specUrl ? el("a", { href: specUrl, target: "_blank", rel: "noopener", text: S[group[1]] + " \u2197" }) : S[group[1]]) : ""],
        ["duration", fmtDuration(R.dur[i])],
        ["host", evidence && typeof evidence.host === "string" ? evidence.host : ""],
        ["baseline", info && info.before ? LABEL[info.before] || info.before : kind === "new-failure" ? "not in the baseline" : ""],
      ])
    );
    dialogBody.appendChild(el("div", { class: "two-col" }, [el("div", null, [el("h3", { text: "Cell" }), cellTable]), cell.v.length ? el("div", null, [el("h3", { text: "Versions" }), versions]) : null]));
    if (error) {
      dialogBody.appendChild(el("p", { class: "notice", role: "alert", text: error }));
      return;
    }
    if (!info) {
      dialogBody.appendChild(el("p", { class: "meta", text: "Loading details\u2026" }));
      return;
    }
    if (info.reason) {
      dialogBody.appendChild(el("h3", { text: "Reason" }));
      dialogBody.appendChild(el("pre", { class: "reason" }, [info.reason]));
    }
    var reproHead = el("div", { class: "repro-head" }, [el("h3", { id: "repro-h", text: "Reproduce by hand" })]);
    dialogBody.appendChild(reproHead);
    if (info.repro && info.repro.length) {
      var text = info.repro.join("\n");
      var status = el("span", { class: "sr-only", role: "status" });
      var copy = el("button", { type: "button", class: "copy", "data-label": "Copy commands", text: "Copy commands", "aria-describedby": "repro-h" });
      copy.addEventListener("click", function () {
        copyText(text, copy, status);
      });
      reproHead.appendChild(copy);
      reproHead.appendChild(status);
      // One block per command, so a wrapped long command still reads as one.
      var lines = info.repro.map(function (line) {
        return el("span", { class: "cmd", text: line });
      });
      dialogBody.appendChild(el("pre", { class: "repro-commands", tabindex: "0", "aria-labelledby": "repro-h" }, [el("code", null, lines)]));
    } else dialogBody.appendChild(el("p", { class: "meta", text: "No repro commands were recorded for this record." }));
    var ev = Object.assign({}, evidence || {});
    var merge = ev.merge;
    delete ev.merge;
    delete ev.host;
    if (Object.keys(ev).length) {
      dialogBody.appendChild(el("h3", { text: "Evidence" }));
      dialogBody.appendChild(el("pre", { class: "evidence", tabindex: "0" }, [pretty(ev)]));
    }
    if (merge && merge.others) {
      dialogBody.appendChild(el("h3", { text: merge.kind === "conflict" ? "Conflicting shards" : "Also seen in" }));
      var ul = el("ul", { class: "others" });
      merge.others.forEach(function (other) {
        ul.appendChild(
          el("li", null, [
            badge(other.outcome),
            " " + (other.host || "?") + " ",
            el("code", { text: other.source || "" }),
            other.reason ? el("pre", { class: "reason" }, [other.reason]) : null,
          ])
        );
      });
      dialogBody.appendChild(ul);
    }
  }

  function openDetail(i, push) {
    state.r = i;
    if (push) {
      history.pushState(null, "", hashOf(i));
      openedWithPush = true;
    }
    renderDetail(i, null, null);
    if (!dialog.open) dialog.showModal();
    var chunk = Math.floor(i / D.chunk);
    loadChunk(chunk, function (error) {
      if (state.r !== i) return;
      renderDetail(i, error ? null : detailChunks[chunk][i % D.chunk], error);
    });
  }

  function closeDetail() {
    if (state.r < 0) return;
    state.r = -1;
    if (openedWithPush) {
      openedWithPush = false;
      history.back();
    } else saveState();
  }

  // ------------------------------------------------------------------ views (tabs): what breaks, builder x runner, versions, all results

  var VIEW_TITLES = {
    findings: "What breaks",
    interop: "Builder \u00d7 runner",
    versions: "Which versions",
    results: "All results",
  };
  var ROLE_WORDS = { engine: "runs on", builder: "built by", runtime: "runtime", registry: "registry" };
  var FIRST_FINDINGS = 60;
  var FIRST_TESTS = 40;

  function buildTabs() {
    var list = document.getElementById("view-tabs");
    var tabs = list.querySelectorAll("[role=tab]");
    var incompatible = findings.filter(function (f) {
      return f.out !== "error";
    }).length;
    var counts = { findings: incompatible, results: N };
    Array.prototype.forEach.call(tabs, function (tab, k) {
      var view = tab.dataset.view;
      if (counts[view] !== undefined) tab.appendChild(el("small", { class: "tab-count", text: fmtInt(counts[view]) }));
      tab.addEventListener("click", function () {
        if (state.view !== view) setView(view, true);
      });
      // The tab pattern: arrows move between tabs, Home/End to the ends; Tab moves into the panel.
      tab.addEventListener("keydown", function (e) {
        var to = e.key === "ArrowRight" ? k + 1 : e.key === "ArrowLeft" ? k - 1 : e.key === "Home" ? 0 : e.key === "End" ? tabs.length - 1 : null;
        if (to === null) return;
        e.preventDefault();
        var next = tabs[(to + tabs.length) % tabs.length];
        next.focus();
        setView(next.dataset.view, true);
      });
    });
  }

  function showView() {
    VIEWS.forEach(function (view) {
      var tab = document.getElementById("tab-" + view);
      var panel = document.getElementById("view-" + view);
      var on = view === state.view;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
    });
    document.title = VIEW_TITLES[state.view] + " \u00b7 " + (D.title || "OCI compatibility matrix");
  }

  function setView(view, push) {
    state.view = view;
    state.r = -1;
    showView();
    renderView();
    if (push) history.pushState(null, "", hashOf(-1));
    else saveState();
  }

  function renderView() {
    if (state.view === "findings") renderFindings();
    else if (state.view === "interop") renderInterop();
    else if (state.view === "versions") renderVersions();
    else {
      renderFindingFilter();
      renderGrid();
      renderResults();
    }
  }

  // Go to the results view showing some cells: a finding's, or a builder x runner pair's.
  function showCells(finding, axisValues, push) {
    state.finding = finding || "";
    if (axisValues) {
      for (var a in axisValues) state.axis[a] = axisValues[a];
    }
    state.r = -1;
    buildToolbar();
    state.view = "results";
    showView();
    applyFilters();
    countEl.textContent =
      filtered.length === N ? "All " + fmtInt(N) + " results" : "Showing " + fmtInt(filtered.length) + " of " + fmtInt(N) + " results";
    renderView();
    if (push) history.pushState(null, "", hashOf(-1));
    else saveState();
    document.getElementById("view-results").scrollIntoView({ block: "start" });
  }

  function filteredMask() {
    var mask = new Uint8Array(N);
    for (var n = 0; n < filtered.length; n++) mask[filtered[n]] = 1;
    return mask;
  }

  function plural(n, word, many) {
    return fmtInt(n) + " " + (n === 1 ? word : many || word + "s");
  }

  function specLink(section, url) {
    if (!section && !url) return null;
    if (!url) return el("span", { text: section });
    return el("a", { href: url, class: "spec-link", target: "_blank", rel: "noopener", text: (section || "spec text") + " \u2197" });
  }

  // ---- what breaks

  // A finding's tools (f.tools: the ones it is about; f.ctx: the others in its cells), kept to the cells the filters show.
  function findingToolLabels(f, byRole, mask) {
    var present = {};
    f.recs.forEach(function (i) {
      if (!mask[i]) return;
      (D.cells[R.cell[i]].t || []).forEach(function (t) {
        present[tools[t].label] = true;
      });
    });
    var out = {};
    Object.keys(byRole || {}).forEach(function (role) {
      var labels = byRole[role].filter(function (l) {
        return present[l];
      });
      if (labels.length) out[role] = labels;
    });
    return out;
  }

  function seenList(seen) {
    return el(
      "ul",
      { class: "seen" },
      seen.map(function (pair) {
        return el("li", null, [pair[0] + " ", el("small", { class: "meta", text: "(" + plural(pair[1], "cell") + ")" })]);
      })
    );
  }

  function findingItem(k, n, mask) {
    var f = findings[k];
    var total = f.recs.length;
    var facts = [];
    var having = findingToolLabels(f, f.tools, mask);
    Object.keys(having).forEach(function (role) {
      facts.push([ROLE_WORDS[role] || role, having[role].join(", ")]);
    });
    // The other tools of its cells: there, but neither tested by the suite nor turning the outcome by version.
    var context = findingToolLabels(f, f.ctx, mask);
    var contextWords = Object.keys(context).map(function (role) {
      return (ROLE_WORDS[role] || role) + " " + context[role].join(", ");
    });
    if (contextWords.length) facts.push(["context (not under test)", contextWords.join("; ")]);
    Object.keys(f.axes).forEach(function (axis) {
      facts.push([axis, f.axes[axis].join(", ")]);
    });
    var passes = Object.keys(f.passes).map(function (role) {
      return (ROLE_WORDS[role] || role) + " " + f.passes[role].join(", ");
    });
    if (passes.length) facts.push(["passes with", passes.join("; ")]);
    // What its cells saw where the outcome alone doesn't say (the platform a store ran, an engine's answer).
    if (f.seen && f.seen.length) facts.push(["seen", seenList(f.seen)]);
    facts.push(["spec", specLink(f.section, f.url)]);
    var link = el("a", {
      href: (function () {
        var keep = { view: state.view, finding: state.finding };
        state.view = "results";
        state.finding = f.id;
        var h = hashOf(-1);
        state.view = keep.view;
        state.finding = keep.finding;
        return h;
      })(),
      class: "finding-cells",
      text: "Show " + (n === 1 ? "the cell" : "the " + fmtInt(n) + " cells") + " \u2192",
    });
    link.addEventListener("click", function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
      e.preventDefault();
      showCells(f.id, null, true);
    });
    return el("li", { class: "finding f-" + f.out + (state.finding === f.id ? " selected" : ""), id: "finding-" + f.id }, [
      el("div", { class: "finding-head" }, [
        badge(f.out),
        el("h4", { class: "finding-test", title: f.test, text: shortName(f.test) }),
        el("span", { class: "chip", text: f.suite }),
        el("span", { class: "finding-count", text: n < total ? fmtInt(n) + " of " + plural(total, "cell") : plural(n, "cell") }),
      ]),
      el("p", { class: "finding-why", text: f.reason }),
      kv(facts),
      link,
    ]);
  }

  function findingList(items, mask) {
    var ol = el("ol", { class: "findings" });
    var shown = 0;
    var more = el("button", { type: "button", class: "plain-button more" });
    function draw(step) {
      var stop = Math.min(items.length, shown + step);
      for (; shown < stop; shown++) ol.appendChild(findingItem(items[shown][0], items[shown][1], mask));
      more.hidden = shown >= items.length;
      more.textContent = "Show " + fmtInt(Math.min(MORE_ROWS, items.length - shown)) + " more of " + fmtInt(items.length - shown);
    }
    more.addEventListener("click", function () {
      draw(MORE_ROWS);
    });
    draw(FIRST_FINDINGS);
    return [ol, more];
  }

  function renderFindings() {
    var host = document.getElementById("findings");
    host.textContent = "";
    var mask = filteredMask();
    var broken = [],
      errors = [],
      cells = { failed: 0, xfailed: 0, error: 0 };
    findings.forEach(function (f, k) {
      var n = 0;
      for (var j = 0; j < f.recs.length; j++) n += mask[f.recs[j]];
      if (!n) return;
      cells[f.out] += n;
      (f.out === "error" ? errors : broken).push([k, n]);
    });
    var scope = filtered.length === N ? "" : " in the cells the filters keep";
    if (!broken.length) {
      host.appendChild(
        el("p", { class: "all-good", text: "Nothing breaks" + scope + ": every case that ran passed." + (errors.length ? " Some cells could not run: see the harness errors below." : "") })
      );
    } else {
      var failedCount = broken.filter(function (b) {
        return findings[b[0]].out === "failed";
      }).length;
      var parts = [];
      if (failedCount) parts.push(plural(failedCount, "failure") + " (" + plural(cells.failed, "cell") + ": the implementation did the wrong thing)");
      if (broken.length - failedCount)
        parts.push(plural(broken.length - failedCount, "known one") + " (" + plural(cells.xfailed, "cell") + ": listed in the matrix's expectations, xfailed)");
      host.appendChild(
        el("p", { class: "finding-summary" }, [
          el("strong", { text: plural(broken.length, "incompatibility", "incompatibilities") }),
          scope + ": " + parts.join(" and ") + ". Each line is one test failing one way, with the versions that have it.",
        ])
      );
      findingList(broken, mask).forEach(function (node) {
        host.appendChild(node);
      });
    }
    if (errors.length) {
      host.appendChild(el("h3", { class: "errors-head", id: "harness-errors-h" }, ["Harness errors ", el("small", { text: "(" + plural(cells.error, "cell") + "; not incompatibilities)" })]));
      host.appendChild(
        el("p", { class: "meta", text: "The harness, or a service it started, broke in these cells: they say nothing about the tools. Rerun them once the cause is fixed." })
      );
      findingList(errors, mask).forEach(function (node) {
        host.appendChild(node);
      });
    }
    if (state.finding) {
      var chosen = document.getElementById("finding-" + state.finding);
      if (chosen) chosen.scrollIntoView({ block: "center" });
    }
  }

  function renderFindingFilter() {
    var box = document.getElementById("finding-filter");
    box.textContent = "";
    box.hidden = !state.finding;
    if (!state.finding) return;
    var f = findings[findingIndex[state.finding]];
    box.appendChild(
      el("p", null, [
        "Showing the cells of one finding: ",
        badge(f.out),
        " ",
        el("code", { text: shortName(f.test) }),
        " \u2014 " + f.reason + " ",
        el("button", {
          type: "button",
          class: "plain-button",
          text: "Show all cells",
          onclick: function () {
            state.finding = "";
            update();
          },
        }),
      ])
    );
  }

  // ---- does what X builds run on Y

  function renderInterop() {
    renderBuilderRunner();
    renderRegistries();
  }

  function renderBuilderRunner() {
    var host = document.getElementById("interop");
    host.textContent = "";
    var rows = D.interop ? D.interop.rows : [],
      cols = D.interop ? D.interop.cols : [];
    if (!rows.length || !cols.length) {
      var which = D.interop ? D.interop.suites.join(", ") : "lifecycle, platforms";
      host.appendChild(el("p", { class: "empty", text: "No cell here was built by one tool and run by another (the " + which + " suites do that)." }));
      return;
    }
    var suiteOk = {};
    D.groups.forEach(function (g, k) {
      suiteOk[k] = D.interop.suites.indexOf(S[g[0]]) >= 0;
    });
    var counts = {};
    for (var n = 0; n < filtered.length; n++) {
      var i = filtered[n],
        c = R.cell[i];
      if (!suiteOk[R.group[i]]) continue;
      var b = cellTool.builder[c],
        e = cellTool.engine[c];
      if (b < 0 || e < 0) continue;
      var slot = counts[b + ":" + e] || (counts[b + ":" + e] = [0, 0, 0, 0, 0]);
      slot[R.out[i]]++;
    }
    function genOf(t) {
      return tools[t].gen || "generation unknown";
    }
    function nameOf(t) {
      var tool = tools[t];
      return tool.tool + (tool.version ? " " + tool.version.replace(/[+~].*$/, "") : "");
    }
    var table = el("table", { class: "grid interop" });
    table.appendChild(el("caption", { class: "sr-only", text: "Outcome counts of the " + D.interop.suites.join(", ") + " cells, by the tool that built the image (rows) and the tool that pulled and ran it (columns)" }));
    var thead = el("thead");
    var top = el("tr", null, [
      el("th", { scope: "col", class: "corner", rowspan: "2" }, [el("span", { class: "corner-rows", text: "built by \u2193" }), el("span", { class: "corner-cols", text: "run by \u2192" })]),
    ]);
    for (var k = 0; k < cols.length; ) {
      var span = 1;
      while (k + span < cols.length && genOf(cols[k + span]) === genOf(cols[k])) span++;
      top.appendChild(el("th", { scope: "colgroup", colspan: String(span), class: "gen-head", text: genOf(cols[k]) }));
      k += span;
    }
    thead.appendChild(top);
    thead.appendChild(
      el(
        "tr",
        null,
        cols.map(function (t) {
          return el("th", { scope: "col", title: tools[t].label, text: nameOf(t) });
        })
      )
    );
    table.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (b) {
      var head = el("th", { scope: "row" }, [el("span", { class: "row-name", text: nameOf(b) }), el("span", { class: "row-version", text: genOf(b) })]);
      var tr = el("tr", null, [head]);
      cols.forEach(function (e) {
        var c = counts[b + ":" + e] || [0, 0, 0, 0, 0];
        var status = statusOf(c);
        if (status === "none") {
          tr.appendChild(el("td", { class: "st-none" }, [el("span", { class: "sr-only", text: "no results" }), el("span", { "aria-hidden": "true", text: "\u00b7" })]));
          return;
        }
        var text = countText(c);
        var where = "built by " + tools[b].label + ", run by " + tools[e].label;
        var cross = tools[b].gen && tools[e].gen && tools[b].gen !== tools[e].gen;
        var button = el(
          "button",
          {
            type: "button",
            class: "gcell st-" + status,
            "aria-label": where + ": " + text.words + ". Show these results.",
            title: where + (cross ? " (across generations)" : "") + "\n" + text.words,
            onclick: function () {
              showCells("", { builder: tools[b].value, engine: tools[e].value }, true);
            },
          },
          text.nodes.concat(cross ? [el("span", { class: "cross-gen", "aria-hidden": "true", text: "\u21c4" })] : [])
        );
        tr.appendChild(el("td", { class: "st-" + status }, [button]));
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    host.appendChild(el("div", { class: "grid-wrap" }, [table]));
  }

  // ---- which registry behaves how, per check

  function renderRegistries() {
    var host = document.getElementById("interop-registries");
    if (!host) return;
    host.textContent = "";
    var spec = D.interop && D.interop.registries;
    var cols = spec ? spec.cols : [];
    var axis = axes.indexOf("registry");
    if (!cols.length || axis < 0) {
      host.appendChild(el("p", { class: "empty", text: "No registry suite ran here (the distribution suite checks each registry)." }));
      return;
    }
    var suiteOk = {};
    D.groups.forEach(function (g, k) {
      suiteOk[k] = spec.suites.indexOf(S[g[0]]) >= 0;
    });
    var rows = [],
      rowOf = {},
      counts = {};
    for (var n = 0; n < filtered.length; n++) {
      var i = filtered[n];
      if (!suiteOk[R.group[i]]) continue;
      var registry = cellAxes[R.cell[i]][axis];
      if (registry === null) continue;
      var test = R.test[i];
      if (rowOf[test] === undefined) {
        rowOf[test] = rows.length;
        rows.push(test);
      }
      var slot = counts[test + ":" + registry] || (counts[test + ":" + registry] = [0, 0, 0, 0, 0]);
      slot[R.out[i]]++;
    }
    if (!rows.length) {
      host.appendChild(el("p", { class: "empty", text: "No registry check matches the filters." }));
      return;
    }
    var table = el("table", { class: "grid registries" });
    table.appendChild(el("caption", { class: "sr-only", text: "Outcome counts of the registry checks, by check (rows) and registry (columns)" }));
    table.appendChild(
      el("thead", null, [
        el(
          "tr",
          null,
          [el("th", { scope: "col", class: "corner", text: "check \u2193 registry \u2192" })].concat(
            cols.map(function (c) {
              return el("th", { scope: "col", title: c.value + (c.version ? " " + c.version : "") }, [
                el("span", { class: "row-name", text: c.value }),
                el("span", { class: "row-version", text: c.version ? " " + c.version.replace(/[+~].*$/, "") : "" }),
              ]);
            })
          )
        ),
      ])
    );
    var tbody = el("tbody");
    rows.forEach(function (test) {
      var name = shortName(S[test]);
      var tr = el("tr", null, [el("th", { scope: "row" }, [el("span", { class: "row-name", text: name })])]);
      cols.forEach(function (c) {
        var counted = counts[test + ":" + c.value] || [0, 0, 0, 0, 0];
        var status = statusOf(counted);
        if (status === "none") {
          tr.appendChild(el("td", { class: "st-none" }, [el("span", { class: "sr-only", text: "no results" }), el("span", { "aria-hidden": "true", text: "\u00b7" })]));
          return;
        }
        var text = countText(counted);
        var where = name + " on " + c.value;
        tr.appendChild(
          el("td", { class: "st-" + status }, [
            el(
              "button",
              {
                type: "button",
                class: "gcell st-" + status,
                "aria-label": where + ": " + text.words + ". Show these results.",
                title: where + "\n" + text.words,
                onclick: function () {
                  state.q = name;
                  showCells("", { registry: c.value }, true);
                },
              },
              text.nodes
            ),
          ])
        );
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    host.appendChild(el("div", { class: "grid-wrap" }, [table]));
  }

  // ---- which versions

  function changeText(ch) {
    return (ch.kind === "fixed" ? "fixed in " : "broken in ") + ch.to;
  }

  function cellsOf(counts) {
    return counts.reduce(function (a, b) {
      return a + b;
    }, 0);
  }

  function contextRows(entry, columns) {
    var groups = entry.tools.filter(function (group) {
      return group.context;
    });
    if (!groups.length) return null;
    var tbody = el("tbody", { class: "v-context-rows" }, [
      el("tr", null, [el("th", { scope: "colgroup", colspan: String(columns), class: "v-context-head", text: "Also in these cells, as context: the suite doesn't test them and no version of theirs changes the outcome" })]),
    ]);
    groups.forEach(function (group) {
      group.rows.forEach(function (row, k) {
        tbody.appendChild(
          el("tr", { class: "v-context" }, [
            k === 0 ? el("th", { scope: "rowgroup", rowspan: String(group.rows.length), text: (ROLE_WORDS[group.role] || group.role) + " " + group.tool }) : null,
            el("th", { scope: "row", class: "v-label", text: row.label }),
            el("td", { class: "v-tally v-context-cells", text: "context, in " + plural(cellsOf(row.counts), "cell") }),
          ])
        );
      });
    });
    return tbody;
  }

  function testedGroups(entry) {
    return entry.tools.filter(function (group) {
      return !group.context;
    });
  }

  function versionTable(entry) {
    var tbody = el("tbody");
    var withSeen = testedGroups(entry).some(function (group) {
      return group.rows.some(function (row) {
        return row.seen && row.seen.length;
      });
    });
    testedGroups(entry).forEach(function (group) {
      group.rows.forEach(function (row, k) {
        var status = statusOf(row.counts);
        var text = countText(row.counts);
        tbody.appendChild(
          el("tr", null, [
            k === 0 ? el("th", { scope: "rowgroup", rowspan: String(group.rows.length), text: (ROLE_WORDS[group.role] || group.role) + " " + group.tool }) : null,
            el("th", { scope: "row", class: "v-label", text: row.label }),
            el("td", { class: "v-tally st-" + status }, [el("span", { class: "sr-only", text: text.words })].concat(text.nodes.map(function (node) {
              node.setAttribute("aria-hidden", "true");
              return node;
            }))),
            withSeen ? el("td", { class: "v-seen" }, row.seen && row.seen.length ? [seenList(row.seen)] : null) : null,
          ])
        );
      });
    });
    var heads = [el("th", { scope: "col", text: "tool" }), el("th", { scope: "col", text: "version (generation)" }), el("th", { scope: "col", text: "pass rate and outcomes" })];
    if (withSeen) heads.push(el("th", { scope: "col", text: "what its cells saw" }));
    return el("table", { class: "plain versions-table" }, [
      el("thead", null, [el("tr", null, heads)]),
      tbody,
      contextRows(entry, heads.length),
    ]);
  }

  function sameWords(entry) {
    var states = {};
    testedGroups(entry).forEach(function (group) {
      group.rows.forEach(function (row) {
        states[statusOf(row.counts)] = true;
      });
    });
    var kinds = Object.keys(states).join(",");
    if (kinds === "pass") return "passes on every version";
    if (kinds === "low") return "fails on every version";
    if (kinds === "skip") return "skipped on every version";
    return "same on every version";
  }

  function versionEntry(entry) {
    var open = entry.changes.length > 0 || entry.differs;
    var details = el("details", { class: "group vtest", open: open ? true : null });
    var summary = el("summary", null, [
      el("span", { class: "section-name", title: entry.test, text: shortName(entry.test) }),
      el("span", { class: "chip", text: entry.suite }),
      specLink(entry.section, entry.url),
    ]);
    entry.changes.forEach(function (ch) {
      summary.appendChild(el("span", { class: "change " + (ch.kind === "fixed" ? "c-fix" : "c-regression"), text: changeText(ch) }));
    });
    if (!entry.changes.length && !entry.differs) summary.appendChild(el("span", { class: "meta", text: sameWords(entry) }));
    details.appendChild(summary);
    var body = el("div", { class: "vbody" });
    if (entry.changes.length) {
      var ul = el("ul", { class: "vchanges" });
      entry.changes.forEach(function (ch) {
        ul.appendChild(
          el("li", null, [
            el("strong", { text: changeText(ch) }),
            ": " + ch.was + " with " + ch.from + ", " + ch.now + " with " + ch.to + " in " + plural(ch.cells, "like cell") + " (" + ch.where.join("; ") + (ch.cells > ch.where.length ? "; \u2026" : "") + ").",
          ])
        );
      });
      body.appendChild(ul);
    }
    body.appendChild(versionTable(entry));
    details.appendChild(body);
    return details;
  }

  function renderVersions() {
    var host = document.getElementById("versions-list");
    host.textContent = "";
    var q = state.q.trim().toLowerCase();
    var list = (D.versions || []).filter(function (entry) {
      return !q || entry.test.toLowerCase().indexOf(q) >= 0;
    });
    if (!list.length) {
      host.appendChild(el("p", { class: "empty", text: q ? "No test name matches the search." : "No cell here names a tool." }));
      return;
    }
    var changed = list.filter(function (e) {
      return e.changes.length;
    }).length;
    host.appendChild(
      el("p", { class: "finding-summary" }, [
        el("strong", { text: plural(changed, "test") }),
        " changed between versions; " + plural(list.length, "test") + " in all" + (q ? " matching the search" : "") + ". Tests whose versions differ come first.",
      ])
    );
    var box = el("div");
    host.appendChild(box);
    var shown = 0;
    var more = el("button", { type: "button", class: "plain-button more" });
    function draw(step) {
      var stop = Math.min(list.length, shown + step);
      for (; shown < stop; shown++) box.appendChild(versionEntry(list[shown]));
      more.hidden = shown >= list.length;
      more.textContent = "Show " + fmtInt(Math.min(MORE_ROWS, list.length - shown)) + " more of " + fmtInt(list.length - shown);
    }
    more.addEventListener("click", function () {
      draw(MORE_ROWS);
    });
    host.appendChild(more);
    draw(FIRST_TESTS);
  }

  // ------------------------------------------------------------------ wiring

  function update() {
    applyFilters();
    countEl.textContent =
      filtered.length === N ? "All " + fmtInt(N) + " results" : "Showing " + fmtInt(filtered.length) + " of " + fmtInt(N) + " results";
    renderView();
    saveState();
  }

  function showError(text) {
    var box = document.getElementById("app-error");
    box.hidden = false;
    box.textContent = text;
  }

  function start() {
    if (!D) {
      showError("The matrix data (data/index.js) did not load: keep the data/ folder next to index.html.");
      return;
    }
    prepare();
    var pivot = defaultPivot();
    state.rows = pivot.rows;
    state.cols = pivot.cols;
    readHash();
    dialog = document.getElementById("detail");
    dialogBody = document.getElementById("detail-body");
    dialog.addEventListener("close", closeDetail);
    document.getElementById("detail-close").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("click", function (e) {
      if (e.target === dialog) dialog.close(); // a click on the backdrop
    });
    window.addEventListener("popstate", function () {
      // An in-page anchor (the skip link) is not a view state: keep the current one.
      if (location.hash && location.hash.indexOf("=") < 0) return;
      readHash();
      buildToolbar();
      buildPivotControls();
      showView();
      update();
      if (state.r >= 0) openDetail(state.r, false);
      else if (dialog.open) {
        openedWithPush = false;
        dialog.close();
      }
    });
    buildToolbar();
    buildPivotControls();
    buildTabs();
    showView();
    renderChanges();
    update();
    if (state.r >= 0) openDetail(state.r, false);
    OM.firstRenderMs = performance.now();
    document.documentElement.dataset.ready = "1";
  }

  OM.start = start;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
