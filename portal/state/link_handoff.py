"""How a reply link's token gets from the address bar to the server without a route of its own.

Issue #5: a dynamic route such as /r/[token] has no prerendered HTML, so nothing painted until
the JavaScript had loaded and run. Instead the server answers /r/<token> with the prerendered
/reply page (portal.server.guard), and HANDOFF, first thing in its head, keeps the token in the
page and shows /reply in the address bar before the app starts, so the router hydrates the page
it was served. On load, /reply asks for the token once with TAKE (the page forgets it).
"""

from __future__ import annotations

# Runs while the HTML is parsed: before the app's modules, on every page (only /r/<token> acts).
HANDOFF = (
    "(function(){var m=/^\\/r\\/([^\\/?#]+)\\/?$/.exec(location.pathname);"
    "if(m){window.__rkLink=m[1];history.replaceState(null,'','/reply');}})();"
)

# Evaluated by rx.call_script from the /reply on-load event; returns the token once.
TAKE = "(function(){var t=window.__rkLink||'';window.__rkLink='';return t;})()"
