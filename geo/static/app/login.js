/* ecozone web app: the sign-in form (part of ecozone, MIT). */
(function () {
  'use strict';
  document.getElementById('login').addEventListener('submit', function (e) {
    e.preventDefault();
    var error = document.getElementById('error');
    fetch('/api/login', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, credentials: 'same-origin',
      body: JSON.stringify({name: document.getElementById('name').value,
                            password: document.getElementById('password').value})
    }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (res) {
        if (res[0]) { window.location.assign('/'); return; }
        error.textContent = res[1].error;
        error.hidden = false;
      });
  });
})();
