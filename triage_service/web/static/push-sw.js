// The inbox's service worker (served as /inbox/sw.js, web/push_devices.py): shows the push messages the server
// sends and opens the page a notification points to. A message holds a title, a line, a link into this site and
// a tag, never patient data (notifications/push.py). It caches nothing and handles no requests.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// Only a path on this site: a message can never send the user elsewhere.
function localPath(url) {
  return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.indexOf("\\") < 0
    ? url : "/";
}

self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  var options = {body: typeof data.body === "string" ? data.body : "", data: {url: localPath(data.url)},
                 // An urgent call-out stays on screen until it is touched.
                 requireInteraction: data.urgent === true};
  if (typeof data.tag === "string" && data.tag) {
    // A repeated alert replaces the one before and rings again.
    options.tag = data.tag;
    options.renotify = true;
  }
  event.waitUntil(self.registration.showNotification(typeof data.title === "string" ? data.title : "", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL(localPath(event.notification.data && event.notification.data.url), self.location.origin);
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target.href && "focus" in windows[i]) {
        return windows[i].focus();
      }
    }
    // A new window rather than taking over an open one: that one may hold an answer being written.
    return self.clients.openWindow(target.href);
  }));
});
