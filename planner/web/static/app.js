// planner serve: the pages' own behaviour (no inline scripts: the CSP allows only this file)
(function () {
  'use strict';
  var add = document.getElementById('add-closure');
  if (add) {
    add.addEventListener('click', function () {
      var rows = document.querySelectorAll('#closures tr.closure-row');
      var last = rows[rows.length - 1];
      var row = last.cloneNode(true);
      row.querySelectorAll('select').forEach(function (s) { s.selectedIndex = 0; });
      row.querySelectorAll('input').forEach(function (i) { i.value = ''; });
      last.parentNode.appendChild(row);
    });
  }
  var prog = document.getElementById('progress');
  if (prog && prog.dataset.finished === 'no') {
    var run = prog.dataset.run;
    var poll = function () {
      fetch('/api/runs/' + encodeURIComponent(run), {credentials: 'same-origin'})
        .then(function (r) { return r.json(); })
        .then(function (job) {
          var done = job.steps.map(function (s) { return s[0]; });
          document.querySelectorAll('#steps li').forEach(function (li, i) {
            li.className = done.indexOf(li.dataset.step) >= 0 ? 'done'
              : (job.status === 'running' && i === done.length ? 'running' : '');
          });
          document.getElementById('job-status').textContent = job.status_word;
          if (job.finished) { window.location.reload(); } else { setTimeout(poll, 400); }
        })
        .catch(function () { setTimeout(poll, 1000); });
    };
    setTimeout(poll, 300);
  }
})();
