// The photo viewer (issue 21): a consult's photos full screen, with zoom, pan, previous and next, and an overview
// strip; by mouse, keyboard and touch. It opens from each link with data-viewer-full (the thumbnails), whose href
// is the photo's own page for browsers without this script (and for a link opened in a new tab).
// The photo is the service's own no-store URL, set as the image's src only while it is shown: no other photo is
// fetched in advance (each fetch is an audited view), no blob: copy is made, no service worker caches it.
// Words come from the dialog's data- attributes, which the template wrote in the page's language.
(function () {
  "use strict";
  var dialog = document.querySelector("dialog.photo-viewer");
  var links = Array.prototype.slice.call(document.querySelectorAll("a[data-viewer-full]"));
  // Without a dialog the links stay links to each photo's page.
  if (!dialog || !links.length || typeof dialog.showModal !== "function") { return; }

  var stage = dialog.querySelector(".pv-stage"), image = dialog.querySelector(".pv-image");
  var title = dialog.querySelector(".pv-title"), count = dialog.querySelector(".pv-count");
  var status = dialog.querySelector(".pv-status"), failed = dialog.querySelector(".pv-failed");
  var strip = dialog.querySelector(".pv-strip ol");
  var MIN = 1, MAX = 8, STEP = 1.5, DOUBLE = 2.5;
  // A swipe is a clear sideways move; a tap barely moves; two taps this close (ms, px) are a double tap.
  var SWIPE = 50, TAP = 10, DOUBLE_TAP_MS = 350, DOUBLE_TAP_PX = 30;
  var index = 0, scale = 1, x = 0, y = 0, opener = null;
  var pointers = new Map(), gesture = null, lastTap = null;

  function words(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) { return values[name]; });
  }

  var thumbs = links.map(function (link, i) {
    var item = document.createElement("li"), button = document.createElement("button");
    var small = link.querySelector("img");
    button.type = "button";
    button.setAttribute("aria-label", link.dataset.viewerTitle);
    if (small) {
      // The thumbnail the page already shows (same URL), not the full photo.
      var copy = document.createElement("img");
      copy.src = small.getAttribute("src");
      copy.alt = "";
      button.appendChild(copy);
    }
    button.addEventListener("click", function () { show(i); });
    item.appendChild(button);
    strip.appendChild(item);
    link.addEventListener("click", function (event) {
      // A middle click or Ctrl/Cmd-click opens the photo's page in a new tab, as a link does.
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
      event.preventDefault();
      open(i, link);
    });
    return button;
  });

  function open(i, link) {
    opener = link;
    dialog.showModal();
    show(i);
  }

  function show(i) {
    index = (i + links.length) % links.length;
    var link = links[index];
    scale = 1; x = 0; y = 0;
    draw();
    failed.hidden = true;
    stage.classList.add("loading");
    title.textContent = link.dataset.viewerTitle;
    count.textContent = words(dialog.dataset.count, {n: index + 1, m: links.length});
    image.alt = link.dataset.viewerTitle;
    image.src = link.dataset.viewerFull;
    thumbs.forEach(function (button, n) {
      if (n === index) {
        button.setAttribute("aria-current", "true");
        button.scrollIntoView({block: "nearest", inline: "nearest"});
      } else {
        button.removeAttribute("aria-current");
      }
    });
  }

  image.addEventListener("load", function () {
    stage.classList.remove("loading");
    draw();
  });
  image.addEventListener("error", function () {
    if (!image.getAttribute("src")) { return; }
    stage.classList.remove("loading");
    failed.hidden = false;
  });

  dialog.addEventListener("close", function () {
    // Let go of the full-size photo; the browser keeps nothing of it (no-store), and neither does the page.
    image.removeAttribute("src");
    pointers.clear();
    gesture = null;
    if (opener) { opener.focus(); }
  });

  // -- zoom and pan: the image fills the stage (object-fit: contain) and is moved by a CSS transform --------

  function fitted() {
    var width = stage.clientWidth, height = stage.clientHeight;
    var natural = {w: image.naturalWidth || width, h: image.naturalHeight || height};
    var fit = Math.min(width / natural.w, height / natural.h);
    return {w: natural.w * fit, h: natural.h * fit, stageW: width, stageH: height};
  }

  function draw() {
    // The photo may not be moved further than its edge: a zoomed photo always fills what it can of the stage.
    var size = fitted();
    var maxX = Math.max(0, (size.w * scale - size.stageW) / 2), maxY = Math.max(0, (size.h * scale - size.stageH) / 2);
    x = Math.min(maxX, Math.max(-maxX, x));
    y = Math.min(maxY, Math.max(-maxY, y));
    // Set through the CSSOM, which the Content-Security-Policy allows (an inline style attribute it would not).
    image.style.transform = "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
    stage.classList.toggle("zoomed", scale > 1);
  }

  // Zoom to ``target`` keeping the point (px, py), measured from the stage's centre, where it is on screen.
  function zoomTo(target, px, py, announce) {
    target = Math.min(MAX, Math.max(MIN, target));
    x = px - (px - x) * target / scale;
    y = py - (py - y) * target / scale;
    scale = target;
    if (scale === MIN) { x = 0; y = 0; }
    draw();
    if (announce) { status.textContent = words(dialog.dataset.zoom, {percent: Math.round(scale * 100) + "%"}); }
  }

  function fromCentre(event) {
    var box = stage.getBoundingClientRect();
    return {x: event.clientX - box.left - box.width / 2, y: event.clientY - box.top - box.height / 2};
  }

  function pan(dx, dy) {
    x += dx; y += dy;
    draw();
  }

  // -- buttons and keys ------------------------------------------------------------------------------------

  var actions = {
    "in": function () { zoomTo(scale * STEP, 0, 0, true); },
    "out": function () { zoomTo(scale / STEP, 0, 0, true); },
    "reset": function () { zoomTo(MIN, 0, 0, true); },
    "prev": function () { show(index - 1); },
    "next": function () { show(index + 1); },
    "close": function () { dialog.close(); }
  };
  dialog.addEventListener("click", function (event) {
    var button = event.target.closest("[data-pv]");
    if (button && actions[button.dataset.pv]) { actions[button.dataset.pv](); }
  });

  dialog.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    // Zoomed in, the arrows move the photo (a keyboard has no other way to); otherwise ← and → change photo.
    var zoomed = scale > 1, step = Math.max(40, stage.clientWidth / 8);
    switch (event.key) {
      case "ArrowRight": if (zoomed) { pan(-step, 0); } else { actions.next(); } break;
      case "ArrowLeft": if (zoomed) { pan(step, 0); } else { actions.prev(); } break;
      case "ArrowDown": if (zoomed) { pan(0, -step); } break;
      case "ArrowUp": if (zoomed) { pan(0, step); } break;
      case "PageDown": actions.next(); break;
      case "PageUp": actions.prev(); break;
      case "Home": show(0); break;
      case "End": show(links.length - 1); break;
      case "+": case "=": actions["in"](); break;
      case "-": case "_": actions.out(); break;
      case "0": actions.reset(); break;
      default: return;  // Esc closes the dialog by itself (its cancel event); Tab moves focus as usual.
    }
    event.preventDefault();
  });

  // -- mouse and touch: drag to move, wheel or pinch to zoom, double tap to zoom, swipe to change photo --------

  stage.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = fromCentre(event), lines = event.deltaMode === 1 ? 20 : 1;
    zoomTo(scale * Math.exp(-event.deltaY * lines * 0.002), at.x, at.y, false);
  }, {passive: false});

  function pinchOf() {
    var points = Array.from(pointers.values());
    return {distance: Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y) || 1,
            x: (points[0].x + points[1].x) / 2, y: (points[0].y + points[1].y) / 2};
  }

  function startGesture(event, moved) {
    if (pointers.size >= 2) {
      var pinch = pinchOf();
      gesture = {kind: "pinch", start: pinch, scale: scale, x: x, y: y};
    } else {
      var at = fromCentre(event);
      gesture = {kind: "drag", start: at, x: x, y: y, zoomed: scale > 1, moved: moved};
    }
  }

  stage.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse" && event.button !== 0) { return; }
    stage.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, fromCentre(event));
    startGesture(event, pointers.size > 1);
  });

  stage.addEventListener("pointermove", function (event) {
    if (!pointers.has(event.pointerId) || !gesture) { return; }
    pointers.set(event.pointerId, fromCentre(event));
    if (gesture.kind === "pinch" && pointers.size >= 2) {
      // The point of the photo between the fingers at the start stays between them, at the new zoom.
      var now = pinchOf(), start = gesture.start;
      var target = Math.min(MAX, Math.max(MIN, gesture.scale * now.distance / start.distance));
      x = now.x - (start.x - gesture.x) * target / gesture.scale;
      y = now.y - (start.y - gesture.y) * target / gesture.scale;
      scale = target;
      draw();
    } else if (gesture.kind === "drag") {
      var at = fromCentre(event), dx = at.x - gesture.start.x, dy = at.y - gesture.start.y;
      if (Math.hypot(dx, dy) > TAP) { gesture.moved = true; }
      if (gesture.zoomed) {
        stage.classList.add("dragging");
        x = gesture.x + dx; y = gesture.y + dy;
        draw();
      }
    }
  });

  function endPointer(event) {
    if (!pointers.has(event.pointerId)) { return; }
    var at = fromCentre(event);
    pointers.delete(event.pointerId);
    stage.classList.remove("dragging");
    if (gesture && gesture.kind === "pinch") {
      // One finger left after a pinch moves the photo on from where it is now, never counts as a tap or swipe.
      if (scale === MIN) { x = 0; y = 0; draw(); }
      gesture = null;
      if (pointers.size === 1) { startGesture(event, true); gesture.start = pointers.values().next().value; }
      return;
    }
    var ended = gesture;
    gesture = null;
    if (!ended || event.type === "pointercancel") { return; }
    var dx = at.x - ended.start.x, dy = at.y - ended.start.y;
    if (!ended.zoomed && Math.abs(dx) > SWIPE && Math.abs(dx) > 1.5 * Math.abs(dy)) {
      show(index + (dx < 0 ? 1 : -1));  // swiped to the left: the next photo comes in from the right
    } else if (!ended.moved) {
      tapped(event.timeStamp, at);
    }
  }
  stage.addEventListener("pointerup", endPointer);
  stage.addEventListener("pointercancel", endPointer);

  function tapped(time, at) {
    var double = lastTap && time - lastTap.time < DOUBLE_TAP_MS &&
      Math.hypot(at.x - lastTap.at.x, at.y - lastTap.at.y) < DOUBLE_TAP_PX;
    lastTap = double ? null : {time: time, at: at};
    if (double) {
      if (scale > MIN) { zoomTo(MIN, 0, 0, true); } else { zoomTo(DOUBLE, at.x, at.y, true); }
    }
  }

  window.addEventListener("resize", function () { if (dialog.open) { draw(); } });
}());
