(function (url, loaded, page) {
  "use strict";
  var source = null, overlay = null;
  function show(error, built) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "sitegen-error";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;" +
        "padding:2rem;background:rgba(24,24,27,.94);color:#fafafa;text-align:left;" +
        "font:15px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap";
      document.body.appendChild(overlay);
    }
    overlay.textContent = "";
    var title = document.createElement("strong");
    title.textContent = built ? "sitegen: the rebuild failed; showing the last good build\n\n"
                              : "sitegen: the build failed; there is no site to show yet\n\n";
    var where = document.createElement("span");
    where.className = "sitegen-error-where";
    where.style.color = "#fca5a5";
    where.textContent = error.where;
    var message = document.createElement("span");
    message.className = "sitegen-error-message";
    message.textContent = ": " + error.message + "\n\nFix it and save: this page reloads by itself.";
    overlay.append(title, where, message);
  }
  function connect() {
    if (source) return;
    source = new EventSource(url + "?since=" + encodeURIComponent(loaded) +
                             (page === null ? "" : "&page=" + encodeURIComponent(page)));
    source.onmessage = function (event) {
      var state = JSON.parse(event.data);
      if (state.build !== loaded) {
        // Reload unless the build just after this page's changed other files only.
        var kept = state.since === loaded && state.changed === false;
        if (!kept) { location.reload(); return; }
        loaded = state.build;
      }
      if (state.error) show(state.error, state.built);
      else if (overlay) { overlay.remove(); overlay = null; }
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { source = null; setTimeout(connect, 1000); }
    };
  }
  document.addEventListener("visibilitychange", function () {
    // Hidden tabs let go of their connection: browsers allow only a few per server.
    if (document.visibilityState === "hidden" && source) { source.close(); source = null; }
    else if (document.visibilityState === "visible") connect();
  });
  if (document.visibilityState !== "hidden") connect();
})(%s, %s, %s);
