// Instellingen, "Meldingen op dit apparaat": asks the browser's permission, registers the service worker
// (/inbox/sw.js), subscribes with the server's VAPID key and posts the subscription (web/push_devices.py).
// Every outcome is said in words: the texts are in the page (#push-controls [data-message]), in its language.
"use strict";

(function () {
  var box = document.getElementById("push-controls");
  if (!box) {
    return;
  }
  var button = document.getElementById("push-on");
  var status = document.getElementById("push-status");

  function say(name) {
    var text = box.querySelector("[data-message='" + name + "']");
    status.textContent = text ? text.textContent : "";
  }

  function keyBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function sameKey(subscription, key) {
    var current = subscription.options && subscription.options.applicationServerKey;
    if (!current) {
      return true;  // the browser does not say: keep it
    }
    var bytes = new Uint8Array(current);
    return bytes.length === key.length && bytes.every(function (value, i) { return value === key[i]; });
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("unsupported");
    return;
  }
  button.hidden = false;
  if (Notification.permission === "denied") {
    say("denied");
  }

  async function turnOn() {
    var permission = await Notification.requestPermission();
    if (permission !== "granted") {
      say(permission === "denied" ? "denied" : "dismissed");
      return;
    }
    var key = keyBytes(box.dataset.key);
    var registration = await navigator.serviceWorker.register(box.dataset.worker, {scope: box.dataset.scope});
    await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription, key)) {
      // Made with an earlier server key: push services refuse our messages to it.
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key});
    }
    var response = await fetch(box.dataset.subscribe, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf},
      body: JSON.stringify({subscription: subscription.toJSON()})
    });
    var answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      answer = {};
    }
    if (!response.ok) {
      if (answer.error) {
        status.textContent = answer.error;
      } else {
        say(response.status === 400 || response.status === 401 ? "expired" : "failed");
      }
      return;
    }
    // The settings page again, at this section: the device in the list and the server's words above.
    window.location.assign(answer.settings || window.location.pathname);
    window.location.reload();  // only the #push anchor differs, which alone loads nothing
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say("busy");
    turnOn().catch(function () {
      say("failed");
    }).finally(function () {
      button.disabled = false;
    });
  });
})();
