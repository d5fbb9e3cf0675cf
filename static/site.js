// sitegen: theme toggle, compact list toggle, keyboard shortcuts and "Copy citation". Every page
// works without it. Keys: "/" focuses the search box; j/k (and arrow keys once a card has focus)
// move through the page's paper lists (not the sidebar's), focusing each card's title link;
// Escape leaves a text box or closes <details>.
(function () {
  "use strict";
  var root = document.documentElement;

  var toggle = document.querySelector(".theme-toggle");
  function theme() {
    return root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
  if (toggle) {
    toggle.hidden = false;
    toggle.setAttribute("aria-pressed", String(theme() === "dark"));
    toggle.addEventListener("click", function () {
      var next = theme() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      toggle.setAttribute("aria-pressed", String(next === "dark"));
      try { localStorage.setItem("theme", next); } catch (e) { /* private mode: not remembered */ }
    });
  }

  var copy = document.querySelector("button[data-copy]");
  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var source = document.getElementById(copy.dataset.copy);
      var status = document.querySelector(".copy-status");
      function select() {  // no clipboard access (plain http, denied): show and select the text
        var details = source.closest("details");
        if (details) details.open = true;
        getSelection().selectAllChildren(source);
        status.textContent = "Citation selected: press Ctrl+C or ⌘C to copy it.";
      }
      if (!navigator.clipboard) return select();
      navigator.clipboard.writeText(source.textContent).then(function () {
        status.textContent = "Citation copied.";
      }, select);
    });
  }

  // Cards or a compact list: set on <html> before the first paint (see _chrome.html), remembered.
  var density = document.querySelectorAll(".density-toggle");
  function compact() { return root.dataset.density === "compact"; }
  Array.prototype.forEach.call(density, function (button) {
    button.hidden = false;
    button.setAttribute("aria-pressed", String(compact()));
    button.addEventListener("click", function () {
      var next = !compact();
      if (next) root.dataset.density = "compact"; else delete root.dataset.density;
      Array.prototype.forEach.call(density, function (other) { other.setAttribute("aria-pressed", String(next)); });
      try { localStorage.setItem("density", next ? "compact" : "cards"); } catch (e) { /* not remembered */ }
    });
  });

  // The page's own paper lists, search results included; not the related papers beside a paper.
  var lists = document.querySelectorAll("main .cards:not(.sidebar .cards)");
  function cardLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("main .cards:not(.sidebar .cards) .card-title a"));
  }

  var keys = document.querySelector(".site-footer .keys");  // CSS hides it on touch screens
  if (keys) {
    keys.hidden = false;
    keys.querySelector(".keys-cards").hidden = lists.length === 0;  // j and k move through lists only
  }
  function move(step, from) {
    var links = cardLinks();
    if (!links.length) return false;
    var card = from.closest && from.closest(".card");
    var i = card ? links.indexOf(card.querySelector(".card-title a")) : -1;
    if (i >= 0) {
      i = Math.max(0, Math.min(links.length - 1, i + step));
    } else {  // start from the first (j) or last (k) card on screen
      var visible = links.filter(function (link) {
        var box = link.closest(".card").getBoundingClientRect();
        return box.bottom > 0 && box.top < innerHeight;
      });
      i = links.indexOf(visible.length ? visible[step > 0 ? 0 : visible.length - 1] : links[0]);
    }
    links[i].focus();
    links[i].closest(".card").scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    var key = event.key;
    if (key === "Escape") {
      var details = target.closest && target.closest("details[open]");
      if (typing) {
        target.blur();
      } else if (details) {
        details.open = false;
        details.querySelector("summary").focus();
      }
      return;
    }
    if (typing) return;
    var inCards = target.closest && target.closest(".cards") && !target.closest(".sidebar");
    if (key === "/") {
      var box = document.querySelector(".search-page input[type=search]") || document.getElementById("site-search");
      if (box) { event.preventDefault(); box.focus(); }
    } else if (key === "j" || key === "k" || (inCards && (key === "ArrowDown" || key === "ArrowUp"))) {
      if (move(key === "j" || key === "ArrowDown" ? 1 : -1, target)) event.preventDefault();
    }
  });
})();
