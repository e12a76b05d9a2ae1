/* The zorggroep dashboard's charts, drawn with the vendored Chart.js (static/vendor/) from the JSON
   block the server put on the page (#dashboard-data): no request of its own, nothing inline, so the
   page's CSP allows only script files from our origin. The numbers are also in the table above. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || !window.Chart) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var text = data.text;
  // Okabe-Ito colours: distinguishable with the common forms of colour blindness.
  var blue = "#0072b2", orange = "#e69f00", green = "#009e73", vermilion = "#d55e00", sky = "#56b4e9",
      purple = "#cc79a7", yellow = "#f0e442", grey = "#999999";

  Chart.defaults.locale = data.locale;
  Chart.defaults.animation = false; // figures, not a show (and steady for screenshots)
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#1d2733";

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) {
      new Chart(canvas, config);
    }
  }

  var wholeNumbers = { beginAtZero: true, ticks: { precision: 0 } };

  draw("chart-volumes", {
    type: "bar",
    data: {
      labels: data.weeks.labels,
      datasets: [
        { label: text.consults, data: data.weeks.consults, backgroundColor: blue },
        { label: text.answered, data: data.weeks.answered, backgroundColor: sky }
      ]
    },
    options: { scales: { y: wholeNumbers } }
  });

  draw("chart-answer-times", {
    type: "line",
    data: {
      labels: data.weeks.labels,
      datasets: [
        { label: text.median, data: data.weeks.median, borderColor: blue, backgroundColor: blue, pointRadius: 4 },
        { label: text.p90, data: data.weeks.p90, borderColor: orange, backgroundColor: orange, pointRadius: 4,
          borderDash: [6, 4] }
      ]
    },
    options: {
      spanGaps: true, // a week without answers is a gap in the data, not zero hours
      plugins: { legend: { labels: { usePointStyle: true } } },
      scales: { y: { beginAtZero: true, title: { display: true, text: text.hours } } }
    }
  });

  draw("chart-outcomes", {
    type: "doughnut",
    data: {
      labels: data.outcomes.labels,
      datasets: [{ data: data.outcomes.values,
                   backgroundColor: [green, vermilion, blue, orange, purple, sky, yellow, grey] }]
    },
    options: { plugins: { legend: { position: "bottom" } } }
  });

  draw("chart-referrals", {
    type: "bar",
    data: {
      labels: data.referrals.labels,
      datasets: [
        { label: text.prevented, data: data.referrals.prevented, backgroundColor: green },
        { label: text.converted, data: data.referrals.converted, backgroundColor: vermilion }
      ]
    },
    options: { scales: { y: Object.assign({ title: { display: true, text: text.count } }, wholeNumbers) } }
  });
}());
