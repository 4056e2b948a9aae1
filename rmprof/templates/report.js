/* rmprof run report: draws the flame graphs (templates/flamegraph.js) after the first paint.
   Each [data-report-flame="<json script id>"] box is drawn when it scrolls near the viewport, and the
   rest one by one when the browser is idle, so the page paints at once however many profiles it has.
   Data reaches the DOM only through RmprofFlame (textContent / setAttribute).

   The report's long sections are <details>: the URL hash opens the one holding its target, printing opens all.

   API: RmprofReport.mount(box), RmprofReport.mountAll() -> number of graphs drawn. */
(function (global) {
  "use strict";

  function message(box, text) {
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var p = document.createElement("p");
    p.className = "note flame-note";
    p.textContent = text;
    box.appendChild(p);
  }

  function mount(box) {
    if (box.__reportMounted) { return box.__rmprofFlame || null; }
    box.__reportMounted = true;
    var src = document.getElementById(box.getAttribute("data-report-flame"));
    if (!src) { message(box, "Flame graph data not found."); return null; }
    var data;
    try {
      data = JSON.parse(src.textContent);
    } catch (e) {
      message(box, "Flame graph data is not valid JSON.");
      return null;
    }
    if (!global.RmprofFlame) { message(box, "The flame graph viewer did not load."); return null; }
    while (box.firstChild) { box.removeChild(box.firstChild); }
    var handle = global.RmprofFlame.render(box, data, {});
    box.setAttribute("data-drawn", "1");
    return handle;
  }

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-report-flame]"));
  }

  function mountAll() {
    var n = 0;
    boxes().forEach(function (box) { if (mount(box)) { n++; } });
    return n;
  }

  function start() {
    var todo = boxes();
    if (typeof IntersectionObserver === "function") {
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            io.unobserve(entry.target);
            mount(entry.target);
          }
        });
      }, { rootMargin: "600px 0px" });
      todo.forEach(function (box) { io.observe(box); });
    }
    // Draw the remaining graphs one per idle slot after the first paint.
    var idle = global.requestIdleCallback || function (fn) { return setTimeout(fn, 16); };
    function next() {
      while (todo.length && todo[0].__reportMounted) { todo.shift(); }
      if (!todo.length) { return; }
      mount(todo.shift());
      idle(next);
    }
    requestAnimationFrame(function () { setTimeout(function () { idle(next); }, 0); });
  }

  /* Long sections are <details>: a link or URL hash to anything inside one opens it (and its parents). */
  function openTarget() {
    var id = global.location.hash.slice(1);
    if (!id) { return; }
    try { id = decodeURIComponent(id); } catch (e) { return; }
    var target = document.getElementById(id);
    if (!target) { return; }
    var opened = false;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) { node.open = true; opened = true; }
    }
    if (opened) { target.scrollIntoView(); }
  }

  function openAll() {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
    mountAll();
  }

  global.addEventListener("hashchange", openTarget);
  // A link to the hash already in the address bar fires no hashchange: open its target on the click too.
  document.addEventListener("click", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest('a[href^="#"]') : null;
    if (a && a.getAttribute("href") === global.location.hash) { openTarget(); }
  });
  global.addEventListener("beforeprint", openAll);
  global.RmprofReport = { mount: mount, mountAll: mountAll };

  function ready() {
    openTarget();
    start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})(window);
