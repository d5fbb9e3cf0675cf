// sitegen search page: runs the Pagefind bundle built by `sitegen build` (see sitegen/search.py).
// Reads ?q=, ?topic=, ?hardware=, ?year= and ?sort= on load, keeps the address up to date as the
// reader types, and lists results as paper cards (title, date, upvotes, topic and hardware chips,
// an excerpt of the abstract). Pagefind finds words by their start, and a word that nothing
// starts with by a shorter and shorter start of it ("zzzzqqq" finds the "z" of a formula): such
// results are said to be near matches, not exact ones.
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
      if (mine !== generation) return;
      return (found.results.length ? inexact(current.q) : Promise.resolve([])).then(function (missing) {
        if (mine === generation) show(mine, found.results, current, "", missing);
      });
    });
  }

  // Lower-case words of a text, as the reader's query and the excerpts compare them.
  function words(text) { return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean); }

  // The words of the query that no paper has, not even as the start of a longer word.
  function inexact(query) {
    return Promise.all(words(query).map(function (word) {
      return pagefind.search("\"" + word + "\"").then(function (exact) {  // the word, or a form of it
        if (exact.results.length) return null;
        return pagefind.search(word).then(function (near) {  // or the start of a longer word
          if (!near.results.length) return word;
          return near.results[0].data().then(function (page) {
            var starts = matched(page).some(function (found) { return found.indexOf(word) === 0; });
            return starts ? null : word;
          });
        });
      });
    })).then(function (found) { return found.filter(Boolean); });
  }

  // The words Pagefind marked in a result's text.
  function matched(page) {
    var all = page.content.split(/\s+/);
    return page.locations.reduce(function (found, i) { return found.concat(words(all[i] || "")); }, []);
  }

  function describe(count, current, missing) {
    var asked = current.q ? " for “" + current.q + "”" : "";
    var chosen = FILTERS.filter(function (name) { return current.filters[name]; })
      .map(function (name) { return current.filters[name]; });
    var within = chosen.length ? " in " + chosen.join(", ") : "";
    if (!count) return "No papers found" + asked + within + ". Try fewer or other words, or remove a filter.";
    if (missing.length) {
      var which = missing.length < words(current.q).length ? ": no paper has “" + missing.join("”, “") + "”" : "";
      return "No exact match" + asked + within + which + ". " +
        (count === 1 ? "1 paper has" : count + " papers have") + " words that start the same way:";
    }
    return count + (count === 1 ? " paper" : " papers") + asked + within + ".";
  }

  // The status is set once the first results are on the page, so it announces what is there.
  function show(mine, results, current, message, missing) {
    pending = results.slice();
    missing = missing || [];
    list.classList.toggle("near-matches", missing.length > 0);
    list.setAttribute("aria-label", missing.length ? "Near matches" : "Search results");
    return showMore(mine, true).then(function () {
      if (mine === generation) say(message || describe(results.length, current, missing));
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

  // The same card as the pages' (templates/_macros.html), made of text nodes only: nothing
  // from an indexed page can become markup here.
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function card(page) {
    var item = document.createElement("li");
    var article = element("article", "card");
    var heading = element("h2", "card-title");
    var link = element("a", "", page.meta.title || page.url);  // Pagefind gives titles as plain text
    link.href = page.url;
    heading.appendChild(link);
    article.appendChild(heading);
    var meta = element("span", "meta");
    if (page.meta.date) meta.appendChild(document.createTextNode(page.meta.date));
    if (page.meta.upvotes) {
      if (page.meta.date) meta.appendChild(document.createTextNode(" · "));
      var votes = element("span", "upvotes");
      votes.appendChild(element("span", "", "▲ ")).setAttribute("aria-hidden", "true");
      votes.appendChild(document.createTextNode(page.meta.upvotes));
      votes.appendChild(element("span", "visually-hidden", " upvotes"));
      meta.appendChild(votes);
    }
    if (meta.childNodes.length) article.appendChild(element("p", "card-meta")).appendChild(meta);
    var chips = element("ul", "chips");
    ((page.filters || {}).topic || []).forEach(function (name) { chips.appendChild(chip("topic", name)); });
    // The hardware filter also holds each model's architecture, vendor and class: the chips are
    // the hardware the paper names, as on its page.
    (page.meta.hardware ? page.meta.hardware.split("; ") : []).forEach(function (name) {
      chips.appendChild(chip("hardware", name));
    });
    if (chips.childNodes.length) article.appendChild(chips);
    var excerpt = abstractExcerpt(page);
    if (excerpt) article.appendChild(excerpt);
    item.appendChild(article);
    return item;
  }

  // A topic or hardware chip, linked to its page (the filter menus of the page know where).
  function chip(kind, name) {
    var option = selects[kind] && Array.prototype.find.call(selects[kind].options, function (o) {
      return o.value === name;
    });
    var href = option && option.getAttribute("data-href");
    var label = element(href ? "a" : "span", "chip chip-" + kind);
    if (href) label.href = href;
    if (kind === "hardware") label.appendChild(element("span", "visually-hidden", "Hardware: "));
    label.appendChild(document.createTextNode(name));
    var item = document.createElement("li");
    item.appendChild(label);
    return item;
  }

  var EXCERPT_WORDS = 32;

  // Some words of the abstract around the first match, the matches marked, "…" where it is cut.
  // (Pagefind's own excerpt starts with the title, which the card shows already.)
  function abstractExcerpt(page) {
    var all = page.content.split(/\s+/);
    // The indexed text is the title, then "Authors:" and the names when known, then the abstract.
    var title = ((page.meta.title || "") + (page.meta.authors ? " Authors: " + page.meta.authors : ""))
      .split(/\s+/).filter(Boolean).length;
    if (all.length <= title) return null;
    var marked = {};
    page.locations.forEach(function (i) { marked[i] = true; });
    var first = page.locations.filter(function (i) { return i >= title; })[0];
    var start = Math.max(title, (first === undefined ? title : first - 8));
    var end = Math.min(all.length, start + EXCERPT_WORDS);
    start = Math.max(title, Math.min(start, end - EXCERPT_WORDS));
    var excerpt = element("p", "card-abstract search-excerpt");
    if (start > title) excerpt.appendChild(document.createTextNode("…"));
    for (var i = start; i < end; i++) {
      var word = all[i];
      if (i === end - 1 && end < all.length) word = word.replace(/[.,;:!?]+$/, "") + "…";
      if (i > start) excerpt.appendChild(document.createTextNode(" "));
      excerpt.appendChild(marked[i] ? element("mark", "", word) : document.createTextNode(word));
    }
    return excerpt;
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
