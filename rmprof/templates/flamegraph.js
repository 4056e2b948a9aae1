/* rmprof flame graph viewer: an icicle chart (root on top) of a call tree built by
   rmprof/report/flametree.py (build_tree / build_diff_tree). Plain DOM, no libraries, no network.
   Profile strings (function names, file paths) are data: they only ever reach the page through
   textContent and setAttribute, never through innerHTML.

   API:
     var handle = RmprofFlame.render(container, data, options);
       options.diff     colour by normalized change (default: data.diff)
       options.title    text shown in the toolbar (optional)
       options.rowHeight  pixels per stack level (default 18)
     handle.zoom(nodeIndex), handle.reset(), handle.search(text), handle.destroy()
     RmprofFlame.mountAll(root)  renders every [data-rmprof-flame="<json script id>"] element once
       (also run automatically on DOMContentLoaded); data-rmprof-title sets options.title.
   Every drawn frame is a div.rmprof-frame with data-idx, data-name, data-total, data-self (and
   data-delta in diff mode); frames narrower than MIN_PX are not drawn. */
(function (global) {
  "use strict";
  if (global.RmprofFlame) {
    return; // included twice on one page: keep the first copy
  }

  var MIN_PX = 0.75; // frames narrower than this are not drawn (their weight stays in the parent)
  var LABEL_PX = 28; // frames narrower than this get no text
  var NEUTRAL = [236, 234, 230];
  var GREW = [214, 39, 40];
  var SHRANK = [38, 96, 214];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) {
      node.className = cls;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function hashName(s) {
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return h >>> 0;
  }

  function nameColour(name) {
    var h = hashName(name);
    var hue = h % 50; // red .. orange .. yellow
    var sat = 62 + ((h >>> 8) % 25);
    var light = 58 + ((h >>> 16) % 14);
    return "hsl(" + hue + "," + sat + "%," + light + "%)";
  }

  function mix(a, b, t) {
    return "rgb(" + Math.round(a[0] + (b[0] - a[0]) * t) + "," +
      Math.round(a[1] + (b[1] - a[1]) * t) + "," + Math.round(a[2] + (b[2] - a[2]) * t) + ")";
  }

  function diffColour(delta, scale) {
    if (!(Math.abs(delta) > 1e-7)) {
      return mix(NEUTRAL, NEUTRAL, 0);
    }
    var t = 0.2 + 0.8 * Math.min(1, Math.abs(delta) / scale);
    return mix(NEUTRAL, delta > 0 ? GREW : SHRANK, t);
  }

  function fmtNum(v, digits) {
    return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  var TIME_NS = { nanoseconds: 1, milliseconds: 1e6, seconds: 1e9 };

  function fmtWeight(v, unit) {
    var a = Math.abs(v);
    if (unit === "bytes") {
      var units = ["B", "KiB", "MiB", "GiB", "TiB"];
      var i = 0;
      while (a >= 1024 && i < units.length - 1) {
        a /= 1024;
        v /= 1024;
        i++;
      }
      return fmtNum(v, i ? 2 : 0) + " " + units[i];
    }
    if (Object.prototype.hasOwnProperty.call(TIME_NS, unit)) {
      var ns = v * TIME_NS[unit];
      var an = Math.abs(ns);
      if (an >= 1e9) { return fmtNum(ns / 1e9, 3) + " s"; }
      if (an >= 1e6) { return fmtNum(ns / 1e6, 3) + " ms"; }
      if (an >= 1e3) { return fmtNum(ns / 1e3, 3) + " \u00b5s"; }
      return fmtNum(ns, 1) + " ns";
    }
    if (!unit || unit === "none") {
      return fmtNum(v, 2);
    }
    return fmtNum(v, 2) + " " + unit;
  }

  function pct(share) {
    return fmtNum(share * 100, 2) + "%";
  }

  function pp(delta) {
    return (delta > 0 ? "+" : delta < 0 ? "\u2212" : "\u00b1") + fmtNum(Math.abs(delta) * 100, 2) + " pp";
  }

  /* Flatten the preorder rows into typed arrays: x offset, depth, parent. */
  function layout(data) {
    var rows = data.tree || [];
    var n = rows.length;
    var X = new Float64Array(n), T = new Float64Array(n), S = new Float64Array(n);
    var D = new Int32Array(n), P = new Int32Array(n), N = new Int32Array(n);
    var next = new Float64Array(n); // where the next child of each node starts
    var maxDepth = 0;
    for (var i = 0; i < n; i++) {
      var r = rows[i], p = r[1];
      N[i] = r[0];
      P[i] = p;
      T[i] = +r[2] || 0;
      S[i] = +r[3] || 0;
      if (p < 0 || p >= i) {
        X[i] = 0;
        D[i] = 0;
      } else {
        X[i] = next[p];
        next[p] += T[i];
        D[i] = D[p] + 1;
      }
      next[i] = X[i];
      if (D[i] > maxDepth) { maxDepth = D[i]; }
    }
    return { n: n, X: X, T: T, S: S, D: D, P: P, N: N, maxDepth: maxDepth };
  }

  function render(container, data, options) {
    options = options || {};
    if (container.__rmprofFlame) {
      container.__rmprofFlame.destroy();
    }
    while (container.firstChild) {
      container.removeChild(container.firstChild);
    }
    var names = data.names || [];
    var files = data.files || [];
    var places = data.places || []; // files shortened to their package (older trees have none)
    var unit = data.unit || "none";
    var diff = options.diff === undefined ? !!data.diff : !!options.diff;
    var rowH = options.rowHeight || 18;
    var L = layout(data);
    var rows = data.tree || [];
    var total = L.n ? L.T[0] : 0;

    var root = el("div", "rmprof-flame" + (diff ? " rmprof-flame-diff" : ""));
    root.setAttribute("role", "figure");
    var toolbar = el("div", "rmprof-flame-toolbar");
    if (options.title) {
      toolbar.appendChild(el("span", "rmprof-flame-title", options.title));
    }
    var resetBtn = el("button", "rmprof-flame-reset", "Reset zoom");
    resetBtn.type = "button";
    resetBtn.disabled = true;
    var crumb = el("span", "rmprof-flame-crumb");
    var searchBox = el("input", "rmprof-flame-search");
    searchBox.type = "search";
    searchBox.placeholder = "Search frames\u2026";
    searchBox.setAttribute("aria-label", "Search frames (substring, case-insensitive)");
    var matchInfo = el("span", "rmprof-flame-matchinfo");
    toolbar.appendChild(resetBtn);
    toolbar.appendChild(crumb);
    toolbar.appendChild(searchBox);
    toolbar.appendChild(matchInfo);
    root.appendChild(toolbar);

    var framesEl = el("div", "rmprof-flame-frames");
    framesEl.style.setProperty("--rmprof-row", (rowH - 1) + "px");
    var tooltip = el("div", "rmprof-flame-tooltip");
    tooltip.setAttribute("role", "tooltip");
    tooltip.hidden = true;

    // Colours, computed once per node.
    var colours = new Array(L.n);
    var deltas = diff ? new Float64Array(L.n) : null;
    var scale = 0.005;
    if (diff) {
      for (var k = 1; k < L.n; k++) {
        var d = (+rows[k][5] || 0) - (+rows[k][4] || 0);
        deltas[k] = d;
        if (Math.abs(d) > scale) { scale = Math.abs(d); }
      }
    }
    names = names.map(String);
    var lowerNames = names.map(function (s) { return s.toLowerCase(); });
    var lightText = diff ? new Uint8Array(L.n) : null; // white labels on strong diff colours
    for (var c = 0; c < L.n; c++) {
      colours[c] = diff ? diffColour(deltas[c], scale) : nameColour(names[L.N[c]]);
      if (diff && Math.abs(deltas[c]) / scale > 0.55) { lightText[c] = 1; }
    }

    root.appendChild(buildLegend());
    root.appendChild(framesEl);
    root.appendChild(tooltip);
    container.appendChild(root);

    var focus = 0;
    var matches = null; // Uint8Array of matched nodes, or null when no search
    var lastWidth = 0;

    function buildLegend() {
      var legend = el("div", "rmprof-flame-legend");
      if (diff) {
        legend.appendChild(el("span", "rmprof-flame-legend-label", "shrank " + pp(-scale)));
        var bar = el("span", "rmprof-flame-legend-bar");
        bar.style.background = "linear-gradient(to right," + mix(NEUTRAL, SHRANK, 1) + "," +
          mix(NEUTRAL, NEUTRAL, 0) + "," + mix(NEUTRAL, GREW, 1) + ")";
        legend.appendChild(bar);
        legend.appendChild(el("span", "rmprof-flame-legend-label", "grew " + pp(scale)));
        legend.appendChild(el("span", "rmprof-flame-legend-note",
          "colour = change of share of total (after \u2212 before); width = after total. Before total: " +
          fmtWeight(+data.before_total || 0, data.before_unit || unit) + ", after: " + fmtWeight(total, unit) + "."));
        legend.appendChild(frameList("Appeared", data.appeared || [], data.appeared_count));
        legend.appendChild(frameList("Disappeared", data.disappeared || [], data.disappeared_count));
      } else {
        var sw = el("span", "rmprof-flame-legend-swatch rmprof-flame-legend-hash");
        legend.appendChild(sw);
        legend.appendChild(el("span", "rmprof-flame-legend-note",
          "colour = function name; width = total " + unit + " (incl. callees); total " + fmtWeight(total, unit) + "."));
        legend.appendChild(el("span", "rmprof-flame-legend-swatch rmprof-flame-legend-match"));
        legend.appendChild(el("span", "rmprof-flame-legend-note", "search match."));
      }
      if (data.pruned_nodes) {
        legend.appendChild(el("span", "rmprof-flame-legend-note",
          fmtNum(data.pruned_nodes, 0) + " tiny frames folded into their callers' self weight."));
      }
      legend.appendChild(el("span", "rmprof-flame-legend-note rmprof-flame-hint",
        "Click a frame to zoom; click the root or Reset to zoom out."));
      return legend;
    }

    function frameList(title, items, count) {
      var box = el("details", "rmprof-flame-list");
      box.appendChild(el("summary", null, title + " (" + fmtNum(count === undefined ? items.length : count, 0) + ")"));
      var ul = el("ul");
      for (var i = 0; i < items.length; i++) {
        ul.appendChild(el("li", null, String(items[i].name) + " \u2014 " + pct(+items[i].share || 0)));
      }
      if (count > items.length) {
        ul.appendChild(el("li", null, "\u2026 and " + fmtNum(count - items.length, 0) + " more"));
      }
      box.appendChild(ul);
      return box;
    }

    function draw() {
      var W = framesEl.clientWidth || container.clientWidth || 1000;
      lastWidth = W;
      framesEl.textContent = "";
      if (!L.n || !(total > 0)) {
        framesEl.style.height = "auto";
        framesEl.appendChild(el("div", "rmprof-flame-empty", "No samples in this profile."));
        return;
      }
      var x0 = L.X[focus], span = L.T[focus] > 0 ? L.T[focus] : total;
      var x1 = x0 + span;
      var frag = document.createDocumentFragment();
      var deepest = 0;
      for (var i = 0; i < L.n; i++) {
        var a = L.X[i], b = a + L.T[i];
        var lo = a > x0 ? a : x0, hi = b < x1 ? b : x1;
        if (!(hi > lo)) { continue; }
        var frac = (hi - lo) / span;
        if (frac * W < MIN_PX) { continue; }
        var node = document.createElement("div");
        var cls = "rmprof-frame";
        if (matches && matches[i]) { cls += " rmprof-match"; }
        if (i === focus) { cls += " rmprof-focus"; }
        if (L.D[i] < L.D[focus]) { cls += " rmprof-ancestor"; }
        node.className = cls;
        var st = node.style;
        st.left = ((lo - x0) / span * 100) + "%";
        st.width = (frac * 100) + "%";
        st.top = (L.D[i] * rowH) + "px";
        st.background = colours[i];
        if (lightText && lightText[i]) { st.color = "#fff"; }
        var name = names[L.N[i]];
        node.setAttribute("data-idx", i);
        node.setAttribute("data-name", name);
        node.setAttribute("data-total", L.T[i]);
        node.setAttribute("data-self", L.S[i]);
        if (diff) { node.setAttribute("data-delta", deltas[i]); }
        if (frac * W >= LABEL_PX) { node.textContent = name; }
        frag.appendChild(node);
        if (L.D[i] > deepest) { deepest = L.D[i]; }
      }
      framesEl.style.height = ((deepest + 1) * rowH) + "px";
      framesEl.appendChild(frag);
    }

    function zoom(idx) {
      idx = +idx;
      if (!(idx >= 0 && idx < L.n)) { return; }
      focus = idx;
      resetBtn.disabled = focus === 0;
      crumb.textContent = focus === 0 ? "" : "Zoomed into: " + names[L.N[focus]];
      hideTip();
      draw();
    }

    function search(text) {
      var q = String(text || "").toLowerCase();
      if (searchBox.value !== String(text || "")) { searchBox.value = String(text || ""); }
      if (!q) {
        matches = null;
        matchInfo.textContent = "";
        root.classList.remove("rmprof-searching");
        draw();
        return { count: 0, share: 0 };
      }
      matches = new Uint8Array(L.n);
      var under = new Uint8Array(L.n); // has a matched ancestor
      var count = 0, weight = 0;
      for (var i = 1; i < L.n; i++) {
        var p = L.P[i];
        if (p >= 0) { under[i] = under[p] || matches[p]; }
        if (lowerNames[L.N[i]].indexOf(q) !== -1) {
          matches[i] = 1;
          count++;
          if (!under[i]) { weight += L.T[i]; }
        }
      }
      var share = total > 0 ? weight / total : 0;
      matchInfo.textContent = "Matched: " + pct(share) + " of total (" + fmtNum(count, 0) + " frame" +
        (count === 1 ? "" : "s") + ")";
      root.classList.add("rmprof-searching");
      draw();
      return { count: count, share: share };
    }

    function tipLine(cls, text) {
      tooltip.appendChild(el("div", cls, text));
    }

    function showTip(idx, ev) {
      while (tooltip.firstChild) { tooltip.removeChild(tooltip.firstChild); }
      var t = L.T[idx], s = L.S[idx];
      tipLine("rmprof-tip-name", names[L.N[idx]]);
      var file = files[L.N[idx]];
      if (file) {
        // The place relative to its package first (asyncio/queues.py:145); the full path under it.
        var place = String(places[L.N[idx]] || file);
        tipLine("rmprof-tip-file", place);
        tooltip.lastChild.setAttribute("title", String(file));
        if (place !== String(file)) { tipLine("rmprof-tip-path", String(file)); }
      }
      tipLine("rmprof-tip-total", "Total: " + fmtWeight(t, unit) + " (" + pct(total > 0 ? t / total : 0) + ")");
      tipLine("rmprof-tip-self", "Self: " + fmtWeight(s, unit) + " (" + pct(total > 0 ? s / total : 0) + ")");
      if (diff) {
        var before = +rows[idx][4] || 0, after = +rows[idx][5] || 0;
        tipLine("rmprof-tip-diff", before === 0 && after > 0 ? "New: " + pct(after) + " of total after (absent before)"
          : "Share: " + pct(before) + " before \u2192 " + pct(after) + " after (" + pp(after - before) + ")");
      }
      tooltip.hidden = false;
      moveTip(ev);
    }

    function moveTip(ev) {
      if (tooltip.hidden) { return; }
      var pad = 14;
      var vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
      var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
      var x = ev.clientX + pad, y = ev.clientY + pad;
      if (x + w > vw - 4) { x = Math.max(4, ev.clientX - w - pad); }
      if (y + h > vh - 4) { y = Math.max(4, ev.clientY - h - pad); }
      tooltip.style.left = x + "px";
      tooltip.style.top = y + "px";
    }

    function hideTip() {
      tooltip.hidden = true;
    }

    function frameOf(ev) {
      var t = ev.target;
      while (t && t !== framesEl) {
        if (t.classList && t.classList.contains("rmprof-frame")) { return t; }
        t = t.parentNode;
      }
      return null;
    }

    function onClick(ev) {
      var f = frameOf(ev);
      if (!f) { return; }
      var idx = +f.getAttribute("data-idx");
      zoom(idx); // the root (0) resets the zoom
    }
    function onOver(ev) {
      var f = frameOf(ev);
      if (f) { showTip(+f.getAttribute("data-idx"), ev); } else { hideTip(); }
    }
    function onKey(ev) {
      if (ev.key === "Escape") {
        if (ev.target === searchBox && searchBox.value) { search(""); } else { zoom(0); }
      }
    }
    var searchTimer = null;
    function onInput() {
      if (searchTimer) { clearTimeout(searchTimer); }
      searchTimer = setTimeout(function () { searchTimer = null; search(searchBox.value); }, 60);
    }
    function onReset() { zoom(0); }

    framesEl.addEventListener("click", onClick);
    framesEl.addEventListener("mouseover", onOver);
    framesEl.addEventListener("mousemove", moveTip);
    framesEl.addEventListener("mouseleave", hideTip);
    root.addEventListener("keydown", onKey);
    searchBox.addEventListener("input", onInput);
    resetBtn.addEventListener("click", onReset);

    var observer = null, pending = false;
    if (typeof ResizeObserver === "function") {
      observer = new ResizeObserver(function () {
        if (pending) { return; }
        pending = true;
        requestAnimationFrame(function () {
          pending = false;
          if (framesEl.clientWidth && Math.abs(framesEl.clientWidth - lastWidth) > 0.5) { draw(); }
        });
      });
      observer.observe(framesEl);
    }

    draw();

    var handle = {
      element: root,
      data: data,
      zoom: zoom,
      reset: function () { zoom(0); },
      search: search,
      focus: function () { return focus; },
      destroy: function () {
        if (observer) { observer.disconnect(); }
        if (searchTimer) { clearTimeout(searchTimer); }
        if (root.parentNode) { root.parentNode.removeChild(root); }
        if (container.__rmprofFlame === handle) { container.__rmprofFlame = null; }
      }
    };
    container.__rmprofFlame = handle;
    return handle;
  }

  function showError(container, message) {
    while (container.firstChild) { container.removeChild(container.firstChild); }
    container.appendChild(el("div", "rmprof-flame-error", message));
  }

  function mountAll(scope) {
    var nodes = (scope || document).querySelectorAll("[data-rmprof-flame]");
    var out = [];
    for (var i = 0; i < nodes.length; i++) {
      var box = nodes[i];
      if (box.__rmprofFlame) { out.push(box.__rmprofFlame); continue; }
      var src = document.getElementById(box.getAttribute("data-rmprof-flame"));
      if (!src) { showError(box, "Flame graph data not found."); continue; }
      var data;
      try {
        data = JSON.parse(src.textContent);
      } catch (e) {
        showError(box, "Flame graph data is not valid JSON.");
        continue;
      }
      var opts = {};
      if (box.hasAttribute("data-rmprof-title")) { opts.title = box.getAttribute("data-rmprof-title"); }
      out.push(render(box, data, opts));
    }
    return out;
  }

  global.RmprofFlame = {
    render: render,
    mountAll: mountAll,
    formatWeight: fmtWeight,
    nameColour: nameColour
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { mountAll(document); });
  } else {
    mountAll(document);
  }
})(window);
