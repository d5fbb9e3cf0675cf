"""Preview server: watch the sources, rebuild, serve the output, reload the browser.

Modelled on MkDocs' livereload: the server knows nothing about sitegen's pipeline, only a
`rebuild(pages_written, superseded, viewed)` callable (`Rebuild`) that brings the output
directory up to date.

Threads:

- the main thread accepts connections (`serve_forever`) and stops on SIGINT or SIGTERM;
- one daemon thread per connection serves a file, or holds an event stream open;
- watchdog's observer thread turns file events into `Rebuilder.changed()` calls;
- the rebuilder thread waits until the changes have been quiet for `QUIET` seconds (or
  `MAX_WAIT` seconds have passed since the first one, so a stream of events cannot starve
  it), calls `rebuild()`, and publishes the new `BuildState`;
- every event stream waits on that state and sends each new one to its browser, whose
  script reloads the page on a new build id or shows the build error over the page.

Each event stream names the page its browser shows, so a rebuild can write the open pages
first and reload their browsers before it writes the rest (as Hugo's fast render mode does).
Each new build id comes with the one before it, and each browser is told whether its page
changed between the two: a browser one id behind whose page did not change stays as it is.
A browser that connects (a page just loaded, a tab shown again) names the id its page was
served at, and is told whether its page changed in any of the builds since, while the server
remembers them (`HISTORY`).
"""

from .messages import ServeError
from .server import serve

__all__ = ["ServeError", "serve"]
