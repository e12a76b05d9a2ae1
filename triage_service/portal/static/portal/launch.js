// After a launch from the GP system the address bar shows /huisarts/launch, the one-time launch that opened the
// page: reloading would post it again and be refused. The page says where it really is: the draft.
"use strict";
(() => {
  const form = document.getElementById("consult-form");
  if (form && form.dataset.draftUrl && window.location.pathname.endsWith("/launch")) {
    window.history.replaceState(null, "", form.dataset.draftUrl);
  }
})();
