// planner serve, Zones page: click a unit's cell, pick another school, see the re-check.
// Every text from data goes in with textContent (never as HTML).
(function () {
  'use strict';
  var root = document.getElementById('zones');
  if (!root) { return; }
  var run = root.dataset.run;
  var token = document.querySelector('meta[name=csrf-token]').content;
  var COLORS = ['#8dd3c7', '#ffffb3', '#bebada', '#fb8072', '#80b1d3', '#fdb462', '#b3de69',
                '#fccde5', '#bc80bd', '#ccebc5', '#ffed6f', '#a6cee3', '#b2df8a', '#cab2d6',
                '#fdbf6f', '#d9d9d9', '#66c2a5', '#e78ac3'];
  var W = {}, MAP = null, CHECK = null, stage = null, map = null, layer = null, marks = null;
  var lastHit = [];

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function api(path, body) {
    return fetch('/api/zones/' + encodeURIComponent(run) + path, {
      method: body ? 'POST' : 'GET', credentials: 'same-origin',
      headers: body ? {'Content-Type': 'application/json', 'X-CSRF-Token': token} : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) { return r.json().then(function (j) { j._ok = r.ok; return j; }); });
  }
  function showError(j) {
    var box = document.getElementById('zone-error');
    box.textContent = '';
    box.appendChild(el('p', j.error || 'error', 'error'));
    (j.lines || []).forEach(function (l) { box.appendChild(el('code', l)); box.appendChild(el('br')); });
    box.classList.remove('hidden');
  }
  function status(text) { document.getElementById('status-line').textContent = text || ''; }

  function schoolIndex(sid) {
    var list = MAP.stages[stage].schools;
    for (var i = 0; i < list.length; i++) { if (list[i].id === sid) { return i; } }
    return -1;
  }
  function schoolName(sid) {
    var i = schoolIndex(sid);
    return i >= 0 ? MAP.stages[stage].schools[i].name : sid;
  }
  function zoneOf(props) {
    if (props.kind === 'S') { return props.id; }
    var a = CHECK.stages[stage].assignment[props.id];
    return a === undefined ? null : a;
  }
  function styleOf(feature) {
    var sid = zoneOf(feature.properties);
    var changed = CHECK.stages[stage].changed.indexOf(feature.properties.id) >= 0 &&
      feature.properties.kind === 'U';
    return {fillColor: sid === null ? '#ffffff' : COLORS[schoolIndex(sid) % COLORS.length],
            fillOpacity: sid === null ? 0.2 : 0.65, color: changed ? '#c62828' : '#455a64',
            weight: changed ? 3 : 1, className: 'zone-cell zone-cell-' + feature.properties.kind};
  }

  function popup(feature) {
    var p = feature.properties, box = el('div', null, 'zpop');
    box.appendChild(el('b', p.name));
    if (p.kind !== 'U') { box.appendChild(el('div', W.own_cell)); return box; }
    box.appendChild(el('div', W.children + ' ' + p.children));
    var cur = zoneOf(p);
    box.appendChild(el('div', W.move_to));
    p.candidates.forEach(function (c) {
      var b = el('button', schoolName(c[0]) + ' (' + c[0] + ') · ' + c[1] + ' ' + W.km,
                 c[0] === cur ? 'cur' : '');
      b.type = 'button';
      b.dataset.school = c[0];
      b.disabled = c[0] === cur;
      b.addEventListener('click', function () { move(p.id, c[0]); });
      box.appendChild(b);
    });
    return box;
  }

  function draw() {
    var data = MAP.stages[stage];
    if (layer) { map.removeLayer(layer); }
    if (marks) { map.removeLayer(marks); }
    layer = L.geoJSON(data.cells, {
      style: styleOf,
      onEachFeature: function (f, l) {
        l.bindPopup(function () { return popup(f); }, {maxWidth: 320});
        l.bindTooltip(function () {
          var sid = zoneOf(f.properties);
          return el('span', f.properties.name + ' → ' + (sid === null ? W.unzoned : schoolName(sid)));
        }, {sticky: true});
        l.feature = f;
      }
    }).addTo(map);
    marks = L.layerGroup().addTo(map);
    data.schools.forEach(function (s) {
      var m = L.circleMarker([s.lat, s.lon], {radius: 6, color: '#212121', weight: 1.5,
        fillColor: COLORS[schoolIndex(s.id) % COLORS.length], fillOpacity: 1,
        className: 'zone-school', interactive: true});
      m.bindTooltip(el('span', s.name + ' (' + s.id + ')'), {direction: 'top'});
      marks.addLayer(m);
    });
  }
  function restyle() { if (layer) { layer.setStyle(styleOf); } }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return values[k] !== undefined ? values[k] : m; });
  }
  function td(row, text, cls) { var c = el('td', text, cls); row.appendChild(c); return c; }
  function mark(ok) { return ok ? '✓' : '✗'; }

  function table() {
    var t = document.getElementById('zone-table');
    t.textContent = '';
    var s = CHECK.stages[stage];
    var head = el('tr');
    [W.school_h, W.children, W.seats, W.load_h, W.contig_h, W.size_h, W.class_h].forEach(function (h) {
      head.appendChild(el('th', h));
    });
    t.appendChild(head);
    s.schools.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.school = r.school_id;
      if (lastHit.indexOf(r.school_id) >= 0) { tr.className = 'hit'; }
      td(tr, r.school + ' (' + r.school_id + ')');
      td(tr, r.children);
      td(tr, r.seats);
      td(tr, r.load === null ? '—' : Math.round(r.load * 100) + '%', r.over ? 'bad cap' : 'good cap');
      td(tr, mark(r.contiguous), r.contiguous ? 'good contig' : 'bad contig');
      td(tr, r.school_pupils + ' ' + mark(r.ok_12), r.ok_12 ? 'good i12' : 'bad i12');
      td(tr, r.largest_class + '/' + r.limit_13 + ' ' + mark(r.ok_13), r.ok_13 ? 'good i13' : 'bad i13');
      t.appendChild(tr);
    });
    var sum = document.getElementById('summary');
    sum.textContent = '';
    var i21 = CHECK.indicator_21;
    var line = el('p', null, i21.passed ? 'ok' : 'error');
    line.id = 'ind21';
    line.textContent = W.share + ' ' + (s.zoned_share * 100).toFixed(1) + '% · ' + W.ind21 + ' ' +
      mark(i21.passed) + ' · ' + W.moves + ' ' + CHECK.moves;
    sum.appendChild(line);
    var v = document.getElementById('violations');
    v.textContent = '';
    var lines = [];
    s.schools.forEach(function (r) {
      var who = r.school + ' (' + r.school_id + ')';
      if (r.over) { lines.push(fill(W.over_line, {school: who, children: r.children, seats: r.seats})); }
      if (!r.contiguous) { lines.push(fill(W.cut_line, {school: who})); }
    });
    if (s.unassigned_children) { lines.push(fill(W.unzoned_line, {children: s.unassigned_children})); }
    if (s.violations.length && !lines.length) { lines = s.violations; }
    if (s.violations.length) {
      v.appendChild(el('b', W.not_feasible));
      var ul = el('ul');
      lines.forEach(function (x) { ul.appendChild(el('li', x)); });
      v.appendChild(ul);
    } else {
      v.appendChild(el('span', W.feasible, 'ok'));
    }
    v.className = s.violations.length ? 'problems' : 'okbox';
    v.dataset.feasible = s.feasible ? 'yes' : 'no';
  }

  function move(unit, school) {
    var before = CHECK.stages[stage].assignment[unit];
    status(W.working);
    map.closePopup();
    api('/move', {stage: stage, unit: unit, school: school}).then(function (j) {
      if (!j._ok) { showError(j); status(''); return; }
      CHECK = j.check;
      lastHit = [before, school];
      restyle(); table();
      status(W.moved);
      root.dataset.moves = CHECK.moves;
    });
  }

  document.getElementById('reset').addEventListener('click', function () {
    api('/reset', {}).then(function (j) {
      if (!j._ok) { showError(j); return; }
      CHECK = j.check; lastHit = []; restyle(); table(); status('');
      root.dataset.moves = CHECK.moves;
    });
  });
  document.getElementById('save').addEventListener('click', function () {
    var name = document.getElementById('plan-name').value;
    var scen = document.getElementById('make-scenario').checked;
    var out = document.getElementById('save-result');
    out.textContent = W.working;
    api('/save', {name: name, scenario: scen}).then(function (j) {
      out.textContent = '';
      if (!j._ok) { out.appendChild(el('p', j.error, 'error')); return; }
      var p = el('p', W.saved + ' ' + j.file + ' · ' + (j.verified ? W.verified : W.not_verified),
                 j.verified ? 'ok' : 'error');
      p.id = 'save-status';
      out.appendChild(p);
      if ((j.problems || []).length) {
        var det = el('details'); det.appendChild(el('summary', fill(W.problems_n, {n: j.problems.length})));
        j.problems.forEach(function (x) { det.appendChild(el('code', x)); det.appendChild(el('br')); });
        out.appendChild(det);
      }
      if (j.scenario) {
        var a = el('a', W.scenario_saved + ' ' + j.scenario + '.yaml', 'button');
        a.href = '/runs?scenario=' + encodeURIComponent(j.scenario);
        a.id = 'scenario-link';
        out.appendChild(a);
      }
      (j.scenario_problems || []).forEach(function (x) { out.appendChild(el('code', x)); });
    });
  });

  api('').then(function (j) {
    if (!j._ok) { showError(j); return; }
    W = j.words; MAP = j.map; CHECK = j.check;
    var sel = document.getElementById('stage');
    Object.keys(MAP.stages).forEach(function (st) {
      var o = el('option', W['stage_' + st] || st); o.value = st; sel.appendChild(o);
    });
    stage = sel.value;
    map = L.map('map', {preferCanvas: false});
    if (MAP.boundary) {
      L.geoJSON(MAP.boundary, {style: {color: '#37474f', weight: 2, fill: false, dashArray: '8 4'},
                               interactive: false}).addTo(map);
    }
    if (MAP.bounds) { map.fitBounds(MAP.bounds); } else { map.setView([0, 0], 2); }
    draw(); table();
    if (j.changed_inputs) { status(W.changed_inputs); }
    sel.addEventListener('change', function () { stage = sel.value; lastHit = []; draw(); table(); });
    window.PLZONES = {map: map, layer: function () { return layer; }};   // for tests
    root.dataset.ready = 'yes';
  });
})();
