// sitegen search page: runs the Pagefind bundle built by `sitegen build` (see sitegen/search.py).
// Reads ?q=, ?topic=, ?hardware=, ?year= and ?sort= on load, keeps the address up to date as the
// reader types, and lists results as paper cards (title, date, upvotes, excerpt).
(function () {
  "use strict";
  var root = document.querySelector(".search-page");
  if (!root) return;
  var PAGE_SIZE = 20;
  var FILTERS = ["topic", "hardware", "year"];
  var SORTS = { date: { date: "desc" }, upvotes: { upvotes: "desc" } };
  var form = root.querySelector(".search-form");
  var input = root.querySelector("#search-q");
  var sortSelect = root.querySelector("#search-sort");
  var status = root.querySelector("#search-status");
  var list = root.querySelector("#search-results");
  var more = root.querySelector("#search-more");
  var selects = {};
  FILTERS.forEach(function (name) { selects[name] = root.querySelector("select[data-filter=" + name + "]"); });

  var pagefind = null;      // the loaded bundle, or null
  var loading = null;       // the promise that loads it
  var pending = [];         // results not shown yet
  var generation = 0;       // drops answers to searches that were overtaken
  var timer = 0;

  function params() {
    var query = new URLSearchParams(location.search);
    return {
      q: (query.get("q") || "").trim(),
      sort: SORTS[query.get("sort")] ? query.get("sort") : "",
      filters: FILTERS.reduce(function (found, name) { found[name] = query.get(name) || ""; return found; }, {})
    };
  }

  function state() {
    var filters = {};
    FILTERS.forEach(function (name) { filters[name] = selects[name] ? selects[name].value : ""; });
    return { q: input.value.trim(), sort: sortSelect.value, filters: filters };
  }

  function updateAddress(current) {
    var query = new URLSearchParams();
    if (current.q) query.set("q", current.q);
    FILTERS.forEach(function (name) { if (current.filters[name]) query.set(name, current.filters[name]); });
    if (current.sort) query.set("sort", current.sort);
    var text = query.toString();
    var address = location.pathname + (text ? "?" + text : "") + location.hash;
    if (address !== location.pathname + location.search + location.hash) history.replaceState(null, "", address);
  }

  function say(text) { status.textContent = text; }

  function load() {
    if (!loading) {
      var bundle = root.getAttribute("data-bundle");
      // noWorker: search in this page; Pagefind's Web Worker is 41 KB more to download before
      // the first results, and a query over 10,000 papers is quick without it.
      loading = import(bundle + "pagefind.js").then(function (module) {
        var options = { baseUrl: root.getAttribute("data-base"), excerptLength: 36, noWorker: true };
        return module.options(options).then(function () {
          return module.init();
        }).then(function () { pagefind = module; return module; });
      });
    }
    return loading;
  }

  // The filter menus come with the page (see search.html): Pagefind's filter index is loaded
  // only once a filter is used.
  function chooseFilters(initial) {
    FILTERS.forEach(function (name) {
      var select = selects[name], wanted = initial.filters[name];
      var known = select && Array.prototype.some.call(select.options, function (o) { return o.value === wanted; });
      if (wanted && known) select.value = wanted;
    });
  }

  function search(current) {
    var mine = ++generation;
    updateAddress(current);
    var filters = {};
    FILTERS.forEach(function (name) { if (current.filters[name]) filters[name] = current.filters[name]; });
    var anyFilter = Object.keys(filters).length > 0;
    if (!current.q && !anyFilter && !current.sort) {
      show(mine, [], current, "Type words to search, or choose a topic, hardware or year.");
      return Promise.resolve();
    }
    say("Searching…");
    var options = { filters: filters };
    if (current.sort) options.sort = SORTS[current.sort];
    return pagefind.search(current.q || null, options).then(function (found) {
      if (mine === generation) show(mine, found.results, current);
    });
  }

  function describe(count, current) {
    var words = current.q ? " for “" + current.q + "”" : "";
    var chosen = FILTERS.filter(function (name) { return current.filters[name]; })
      .map(function (name) { return current.filters[name]; });
    var within = chosen.length ? " in " + chosen.join(", ") : "";
    if (!count) return "No papers found" + words + within + ". Try fewer or other words, or remove a filter.";
    return count + (count === 1 ? " paper" : " papers") + words + within + ".";
  }

  // The status is set once the first results are on the page, so it announces what is there.
  function show(mine, results, current, message) {
    pending = results.slice();
    return showMore(mine, true).then(function () {
      if (mine === generation) say(message || describe(results.length, current));
    });
  }

  function showMore(mine, replace) {
    var batch = pending.splice(0, PAGE_SIZE);
    return Promise.all(batch.map(function (result) { return result.data(); })).then(function (pages) {
      if (mine !== generation) return;
      if (replace) list.textContent = "";
      pages.forEach(function (page) { list.appendChild(card(page)); });
      more.hidden = pending.length === 0;
    });
  }

  function card(page) {
    var item = document.createElement("li");
    var article = document.createElement("article");
    article.className = "card";
    var heading = document.createElement("h2");
    heading.className = "card-title";
    var link = document.createElement("a");
    link.href = page.url;
    link.textContent = page.meta.title || page.url;  // Pagefind gives titles as plain text
    heading.appendChild(link);
    article.appendChild(heading);
    var meta = document.createElement("p");
    meta.className = "card-meta meta";
    meta.textContent = page.meta.date || "undated";
    if (page.meta.upvotes) {
      var votes = document.createElement("span");
      votes.className = "upvotes";
      votes.textContent = " · ▲ " + page.meta.upvotes;
      votes.setAttribute("aria-label", page.meta.upvotes + " upvotes");
      meta.appendChild(votes);
    }
    article.appendChild(meta);
    if (page.excerpt) {
      var excerpt = document.createElement("p");
      excerpt.className = "card-abstract search-excerpt";
      appendExcerpt(excerpt, page.excerpt);
      article.appendChild(excerpt);
    }
    item.appendChild(article);
    return item;
  }

  // Pagefind excerpts are escaped text with <mark> around the matches. Parse them inertly and
  // keep only text and <mark>, so nothing from an indexed page can become markup here.
  function appendExcerpt(target, html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    template.content.childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        target.appendChild(mark);
      } else {
        target.appendChild(document.createTextNode(node.textContent));
      }
    });
  }

  function unavailable() {
    list.textContent = "";
    more.hidden = true;
    say("Search is not available on this copy of the site: it has no search index (it was built " +
        "without one, or has no papers yet). Browse the papers from the menu instead.");
    form.querySelectorAll("input, select, button").forEach(function (control) { control.disabled = true; });
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(function () { if (pagefind) search(state()); }, delay);
  }

  var initial = params();
  input.value = initial.q;
  sortSelect.value = initial.sort;
  say("Loading the search index…");
  chooseFilters(initial);
  load().then(function () { return search(state()); }, unavailable);

  input.addEventListener("input", function () { schedule(200); });
  form.addEventListener("change", function () { schedule(0); });
  form.addEventListener("submit", function (event) { event.preventDefault(); schedule(0); });
  more.addEventListener("click", function () {
    var next = list.children.length;
    showMore(generation).then(function () {
      var first = list.children[next] && list.children[next].querySelector("a");
      if (first) first.focus();  // keyboard users continue where the new results start
    });
  });
})();
