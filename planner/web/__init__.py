"""``planner serve``: a local web app for planners who do not use a terminal.

Pages (docs/web.md): District (pick or upload a district, its summary and the check
verdict), Scenario (a form saved as a scenario YAML that ``planner run`` accepts),
Run (live progress, then the report, the map and the files), Zones (move a unit to
another school's zone on the map, re-checked at once, saved as a catchment file a
scenario can use) and Compare (runs side by side).

- :mod:`planner.web.workspace`: the workspace folder, safe uploads, names and paths;
- :mod:`planner.web.forms`: the scenario form, built from the parameters classes;
- :mod:`planner.web.jobs`: runs in a background thread with their progress;
- :mod:`planner.web.zones`: the zone re-check (the one module that knows the
  catchment plan's internals: it calls :mod:`planner.plans.catchments` and
  :mod:`planner.verify.catchments`);
- :mod:`planner.web.app`: the Starlette application (pages, JSON, security).

The web layer sits above the runner and the outputs: nothing in the library imports it.
"""
