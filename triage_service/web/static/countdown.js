// Keeps the inbox's countdowns ("nog 1 u 12 min", "23 min te laat") current while a page stays open.
// The server has already written each one in words from its own clock, so the page is right without this
// script. The browser's clock is read only to measure how long the page has been open: the time left is the
// server's "now" (on this script tag) plus that, so a browser whose clock is wrong still counts down right.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var words = script.dataset;
  var serverNow = Date.parse(words.now);
  var openedAt = Date.now();

  function fill(template, value) {
    return template.replace(/%\(\w+\)[ds]/, value);
  }

  // The same rules as web/urgent.py (duration_words, countdown_text): whole minutes rounded up.
  function duration(minutes) {
    var days = Math.floor(minutes / 1440), rest = minutes % 1440;
    var hours = Math.floor(rest / 60), mins = rest % 60, parts = [];
    if (days) { parts.push(fill(words.days, days)); }
    if (hours) { parts.push(fill(words.hours, hours)); }
    if ((mins && !days) || !parts.length) { parts.push(fill(words.minutes, mins)); }
    return parts.join(" ");
  }

  function tick() {
    var now = serverNow + (Date.now() - openedAt);
    document.querySelectorAll(".countdown[data-due]").forEach(function (element) {
      var seconds = (Date.parse(element.dataset.due) - now) / 1000;
      var late = seconds <= 0;
      var text = late ? fill(words.late, duration(Math.max(1, Math.ceil(-seconds / 60))))
                      : fill(words.left, duration(Math.ceil(seconds / 60)));
      if (element.textContent !== text) { element.textContent = text; }
      element.classList.toggle("late", late);
    });
  }

  tick();
  window.setInterval(tick, 30000);
}());
