/* ecozone web app: check, layers and history pages (part of ecozone, MIT).
 *
 * Every text from data (site names, reasons, file names, layer names, error lines) is set with
 * textContent or passed to Leaflet as a DOM element: nothing from data is ever parsed as HTML.
 * The map is the layer set's own web map (geo/maps) in a frame of this origin; results and
 * drawings are added to it with the frame's Leaflet.
 */
(function () {
  'use strict';

  var T = {
    zh: {title: 'ecozone 生态空间分区管控', tabCheck: '选址核查', tabLayers: '图层', tabHistory: '历史记录',
      logout: '退出登录', layerset: '图层集', type: '项目类型', typeFromFile: '按文件中的类型（无则按最严格类型）',
      coordSys: '经纬度坐标系', coordAuto: '自动', encoding: '文字编码', gcj02: 'GCJ-02（高德、腾讯、奥维）', bd09: 'BD-09（百度）',
      crs: '投影坐标系（DXF、x/y 表格）', drop: '拖入或选择项目文件：zip 压缩的 Shapefile、GeoJSON、KML/KMZ、CSV/XLSX、DXF、界址点 TXT、GeoPackage',
      draw: '或在地图上绘制：', point: '点', line: '线', polygon: '面', checkDrawn: '核查所绘', clear: '清除',
      drawHint: '在地图上单击添加节点，完成后点击“核查所绘”', cancel: '取消', filter: '按结论筛选', all: '全部',
      siteId: '编号', siteName: '名称', verdict: '结论', searchLayers: '搜索图层或类别', export: '导出格式',
      download: '下载', time: '时间', input: '输入', status: '状态', counts: '结论统计', open: '打开', rerun: '重新核查',
      running: '核查中…', queued: '排队中…', done: '完成', failed: '失败', cancelled: '已取消',
      shown: '列出 {n} / {total} 个项目', mapShown: '地图显示最严重的 {n} 个（共 {total} 个）',
      changes: '与上次核查相比结论变化的项目：', noChanges: '与上次核查相比无结论变化', reasons: '理由', citations: '依据',
      findings: '涉及的管控区', requirements: '管控单元准入要求', layer: '图层', zone: '区域', code: '编码',
      relation: '关系', area: '占用面积 (m²)', share: '占比', length: '长度 (m)', chainage: '桩号', distance: '距离 (m)',
      rule: '规则结论', control: '管控要求', clause: '依据条款', warnings: '提示', reportWait: '报告生成中，请稍候…',
      projectType: '项目类型', kind: '类型', hash: '内容哈希'},
    en: {title: 'ecozone ecological zoning', tabCheck: 'Check sites', tabLayers: 'Layers', tabHistory: 'History',
      logout: 'Sign out', layerset: 'Layer set', type: 'Project type', typeFromFile: 'as in the file (else the strictest)',
      coordSys: 'Lon/lat system', coordAuto: 'auto', encoding: 'Text encoding', gcj02: 'GCJ-02 (Gaode, Tencent, Ovital)', bd09: 'BD-09 (Baidu)',
      crs: 'Projected CRS (DXF, x/y tables)', drop: 'Drop or choose a site file: zipped shapefile, GeoJSON, KML/KMZ, CSV/XLSX, DXF, 界址点 TXT, GeoPackage',
      draw: 'or draw on the map:', point: 'Point', line: 'Line', polygon: 'Polygon', checkDrawn: 'Check drawing',
      clear: 'Clear', drawHint: 'click on the map to add vertices, then press "Check drawing"', cancel: 'Cancel',
      filter: 'Filter by verdict', all: 'all', siteId: 'ID', siteName: 'Name', verdict: 'Verdict',
      searchLayers: 'Search layers or classes', export: 'Export format', download: 'Download', time: 'Time',
      input: 'Input', status: 'Status', counts: 'Verdicts', open: 'Open', rerun: 'Re-run', running: 'checking…',
      queued: 'queued…', done: 'done', failed: 'failed', cancelled: 'cancelled', shown: 'listing {n} of {total} sites',
      mapShown: 'the map shows the {n} most severe of {total}', changes: 'Sites whose verdict changed since the last check:',
      noChanges: 'No verdict changed since the last check', reasons: 'Reasons', citations: 'Citations',
      findings: 'Zones met', requirements: 'Control unit requirements', layer: 'Layer', zone: 'Zone', code: 'Code',
      relation: 'Relation', area: 'Area (m²)', share: 'Share', length: 'Length (m)', chainage: 'Chainage',
      distance: 'Distance (m)', rule: 'Rule verdict', control: 'Control', clause: 'Clause', warnings: 'Notes',
      reportWait: 'making the report…', projectType: 'Project type', kind: 'Kind', hash: 'content hash'}
  };
  var LIST_ROWS = 500;
  var S = {lang: localStorage.getItem('ecozone-lang') || 'zh', info: null, check: null, sites: [], sort: 'verdict',
    asc: true, filter: '', drawing: null, drawn: [], layerSets: null, frameReady: null, resultLayer: null,
    canvasFrom: 2000};  // (sites are drawn on a canvas from this many on)

  window.ecozoneApp = S;  // (for tests and the console)
  function $(id) { return document.getElementById(id); }
  function t(key) { return T[S.lang][key] || key; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function verdictLabel(v) { var d = S.info.verdicts[v]; return d ? d[S.lang] : String(v); }
  function badge(v) {
    var b = el('span', verdictLabel(v), 'badge');
    if (S.info.verdicts[v]) { b.style.background = S.info.verdicts[v].color; }
    return b;
  }

  function showError(line) {
    $('error').textContent = line || '';
    $('error').hidden = !line;
  }

  function api(method, path, body, raw) {
    var opts = {method: method, credentials: 'same-origin', headers: {}};
    if (method !== 'GET') { opts.headers['X-CSRF-Token'] = S.info ? S.info.csrf : ''; }
    if (raw) { opts.body = raw; opts.headers['Content-Type'] = 'application/octet-stream'; }
    else if (body) { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
    return fetch(path, opts).then(function (r) {
      if (r.status === 401) { window.location.assign('/login'); }
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(data.error || ('HTTP ' + r.status)); }
        return data;
      });
    });
  }

  /* ---- texts and tabs ---- */
  function applyTexts() {
    document.documentElement.lang = S.lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-t]').forEach(function (e) { e.textContent = t(e.getAttribute('data-t')); });
    $('lang').textContent = S.lang === 'zh' ? 'English' : '中文';
    $('draw-hint').textContent = S.drawing ? t('drawHint') : '';
    fillTypes();
    fillFilter();
  }
  function fillTypes() {
    var sel = $('type'), keep = sel.value;
    sel.replaceChildren(new Option(t('typeFromFile'), ''));
    S.info.types.forEach(function (x) { sel.appendChild(new Option(x.code + ' ' + x[S.lang], x.code)); });
    sel.value = keep;
  }
  function fillFilter() {
    var sel = $('filter'), keep = sel.value;
    sel.replaceChildren(new Option(t('all'), ''));
    Object.keys(S.info.verdicts).forEach(function (v) { sel.appendChild(new Option(verdictLabel(v), v)); });
    sel.value = keep;
  }
  function showTab(name) {
    document.querySelectorAll('.tab').forEach(function (e) { e.hidden = e.id !== 'tab-' + name; });
    document.querySelectorAll('nav button').forEach(function (b) {
      if (b.getAttribute('data-tab') === name) { b.setAttribute('aria-current', 'page'); } else { b.removeAttribute('aria-current'); }
    });
    if (name === 'history') { loadHistory(); }
    if (name === 'layers') { loadLayers(); }
  }

  /* ---- the map frame ---- */
  function loadMap() {
    var frame = $('map');
    S.frameReady = new Promise(function (resolve) {
      frame.onload = function () {
        var w = frame.contentWindow;
        (function wait() {
          if (w.ecozone && w.ecozone.map) { resolve(w); } else { setTimeout(wait, 50); }
        })();
      };
    });
    S.resultLayer = null;
    S.drawLayer = null;
    frame.src = '/map/' + encodeURIComponent($('layerset').value) + '?lang=' + S.lang;
    S.frameReady.then(function (w) {
      w.ecozone.map.on('preclick', onMapClick);  // (a zone's popup stops the click itself)
      drawResults();
      redrawDrawing();
    });
  }
  function textNode(w, text) {  // a tooltip that is text, built in the frame's document
    var span = w.document.createElement('span');
    span.textContent = text;
    return span;
  }
  function drawResults() {
    if (!S.frameReady || !S.fc) { return; }
    S.frameReady.then(function (w) {
      var L = w.L, map = w.ecozone.map;
      if (S.resultLayer) { map.removeLayer(S.resultLayer); }
      S.byId = {};
      // one layer, one tooltip and one click handler for all sites; many sites are drawn on a canvas (not an SVG
      // element each), which then takes the clicks over the whole map (the zones' popups give way to it)
      var renderer = S.fc.features.length > S.canvasFrom ? L.canvas({padding: 0.5}) : undefined;  // (else the map's SVG)
      S.resultLayer = L.geoJSON(S.fc, {
        style: function (f) {
          return {renderer: renderer, color: '#222', weight: 2, fillColor: S.info.verdicts[f.properties.verdict].color,
            fillOpacity: 0.7};
        },
        pointToLayer: function (f, ll) {
          return L.circleMarker(ll, {renderer: renderer, radius: 7, color: '#222', weight: 1.5, fillOpacity: 0.9,
            fillColor: S.info.verdicts[f.properties.verdict].color});
        },
        onEachFeature: function (f, layer) { S.byId[f.properties.site_id] = layer; }
      });
      S.resultLayer.bindTooltip(function (layer) {
        var p = layer.feature.properties;
        return textNode(w, p.name + ' · ' + verdictLabel(p.verdict));
      }, {sticky: true});
      S.resultLayer.on('click', function (e) {
        L.DomEvent.stopPropagation(e);
        if (!S.drawing) { openSite(e.layer.feature.properties); }
      });
      S.resultLayer.addTo(map);
      if (S.fc.features.length) { map.fitBounds(S.resultLayer.getBounds(), {maxZoom: 15, padding: [40, 40], animate: false}); }
      document.documentElement.setAttribute('data-results-drawn', String(S.fc.features.length));
    });
  }

  /* ---- drawing ---- */
  function startDrawing(kind) {
    S.drawing = {kind: kind, pts: []};
    $('draw-hint').textContent = t('drawHint');
    redrawDrawing();
  }
  function onMapClick(e) {
    if (!S.drawing) { return; }
    var w = $('map').contentWindow;
    setTimeout(function () { w.ecozone.map.closePopup(); }, 0);  // no zone popup while drawing
    var ll = e.latlng.wrap();
    if (S.drawing.kind === 'point') { S.drawing.pts = [ll]; } else { S.drawing.pts.push(ll); }
    redrawDrawing();
  }
  function drawingWkt() {
    var d = S.drawing;
    if (!d) { return null; }
    var xy = d.pts.map(function (p) { return p.lng.toFixed(7) + ' ' + p.lat.toFixed(7); });
    if (d.kind === 'point' && xy.length === 1) { return 'POINT (' + xy[0] + ')'; }
    if (d.kind === 'line' && xy.length >= 2) { return 'LINESTRING (' + xy.join(', ') + ')'; }
    if (d.kind === 'polygon' && xy.length >= 3) { return 'POLYGON ((' + xy.concat([xy[0]]).join(', ') + '))'; }
    return null;
  }
  function redrawDrawing() {
    $('draw-check').disabled = !drawingWkt();
    if (!S.frameReady) { return; }
    S.frameReady.then(function (w) {
      var L = w.L, map = w.ecozone.map, d = S.drawing;
      if (S.drawLayer) { map.removeLayer(S.drawLayer); }
      S.drawLayer = L.layerGroup().addTo(map);
      if (!d) { return; }
      d.pts.forEach(function (p) { L.circleMarker(p, {radius: 4, color: '#e7298a', interactive: false}).addTo(S.drawLayer); });
      if (d.kind === 'line' && d.pts.length > 1) { L.polyline(d.pts, {color: '#e7298a', interactive: false}).addTo(S.drawLayer); }
      if (d.kind === 'polygon' && d.pts.length > 1) { L.polygon(d.pts, {color: '#e7298a', interactive: false}).addTo(S.drawLayer); }
    });
  }

  /* ---- checks ---- */
  function uploadFile(file) {
    showError('');
    if (!file) { return; }
    var q = new URLSearchParams({name: file.name, layers: $('layerset').value});
    ['project_type', 'coord_sys', 'crs', 'encoding'].forEach(function (k) {
      var v = (k === 'project_type' ? $('type') : $(k)).value;
      if (v) { q.set(k, v); }
    });
    api('POST', '/api/checks?' + q.toString(), null, file).then(function (r) { follow(r.id); }).catch(function (e) { showError(e.message); });
  }
  function checkDrawing() {
    showError('');
    var wkt = drawingWkt();
    if (!wkt) { return; }
    api('POST', '/api/draw', {wkts: [wkt], layers: $('layerset').value, project_type: $('type').value || null})
      .then(function (r) { S.drawing = null; redrawDrawing(); follow(r.id); })
      .catch(function (e) { showError(e.message); });
  }
  function follow(id) {
    S.check = {id: id};
    $('result').hidden = true;
    $('site').hidden = true;
    $('job').hidden = false;
    $('job-text').textContent = t('queued');
    (function poll() {  // the server answers as soon as the check ends, else after a second with its progress
      if (!S.check || S.check.id !== id) { return; }
      api('GET', '/api/checks/' + id + '?wait=1').then(function (m) {
        if (m.status === 'queued' || m.status === 'running') {
          $('job-text').textContent = t(m.status) + (m.total ? ' ' + m.done + ' / ' + m.total : '') + ' (' + m.seconds + ' s)';
          if (m.total) { $('progress').max = m.total; $('progress').value = m.done; } else { $('progress').removeAttribute('value'); }
          setTimeout(poll, m.seconds === undefined ? 1000 : 0);  // (no job behind it: not one this app runs)
          return;
        }
        $('job').hidden = true;
        if (m.status !== 'done') { showError(m.error); return; }
        showCheck(m);
      }).catch(function (e) { $('job').hidden = true; showError(e.message); });
    })();
  }
  function showCheck(m) {
    S.check = m;
    if ($('layerset').value !== m.layerset) { $('layerset').value = m.layerset; loadMap(); }
    $('summary').textContent = m.summary;
    $('warnings').textContent = (m.warnings || []).join('\n');
    var dl = $('downloads');
    dl.replaceChildren();
    (m.downloads || []).forEach(function (name) {
      var a = el('a', name);
      a.href = '/api/checks/' + m.id + '/files/' + name;
      a.setAttribute('download', '');
      dl.appendChild(a);
    });
    var ch = $('changes');
    ch.replaceChildren();
    if (m.changes) {
      ch.appendChild(el('div', m.changes.length ? t('changes') : t('noChanges')));
      m.changes.forEach(function (c) {
        var row = el('div', (c.name || c.site_id) + ': ');
        row.appendChild(c.old ? badge(c.old) : el('span', '—'));
        row.appendChild(el('span', ' → '));
        row.appendChild(c.new ? badge(c.new) : el('span', '—'));
        ch.appendChild(row);
      });
    }
    api('GET', '/api/checks/' + m.id + '/sites').then(function (view) {  // {table: {columns, data}, geometry}
      var cols = view.table.columns;
      S.sites = view.table.data.map(function (row) {
        var p = {};
        cols.forEach(function (c, j) { p[c] = row[j]; });
        return p;
      });
      S.fc = {type: 'FeatureCollection', n_sites: view.n_sites, shown: view.shown, features: []};
      S.sites.forEach(function (p, i) {
        if (view.geometry[i]) { S.fc.features.push({type: 'Feature', geometry: view.geometry[i], properties: p}); }
      });
      $('result').hidden = false;
      showTab('check');
      renderTable();
      drawResults();
    }).catch(function (e) { showError(e.message); });
  }
  function renderTable() {
    var rank = {prohibited: 0, restricted: 1, caution: 2, allowed: 3, unknown: 4};
    var key = S.sort, dir = S.asc ? 1 : -1;
    var rows = S.sites.filter(function (p) { return !S.filter || p.verdict === S.filter; });
    rows.sort(function (a, b) {
      var x = key === 'verdict' ? rank[a.verdict] : String(a[key] || ''), y = key === 'verdict' ? rank[b.verdict] : String(b[key] || '');
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    var body = $('table').tBodies[0];
    body.replaceChildren();
    rows.slice(0, LIST_ROWS).forEach(function (p) {
      var tr = el('tr');
      tr.setAttribute('data-site', p.site_id);
      tr.appendChild(el('td', p.site_id));
      tr.appendChild(el('td', p.name));
      tr.appendChild(el('td', p.project_type));
      var td = el('td');
      td.appendChild(badge(p.verdict));
      tr.appendChild(td);
      tr.addEventListener('click', function () { openSite(p, true); });
      body.appendChild(tr);
    });
    var note = t('shown').replace('{n}', Math.min(rows.length, LIST_ROWS)).replace('{total}', rows.length);
    if (S.fc && S.fc.shown < S.fc.n_sites) { note += '; ' + t('mapShown').replace('{n}', S.fc.shown).replace('{total}', S.fc.n_sites); }
    $('shown').textContent = note;
  }
  function dlRow(dl, label, value) {
    if (value === null || value === undefined || value === '') { return; }
    dl.appendChild(el('dt', label));
    var dd = el('dd');
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = String(value); }
    dl.appendChild(dd);
  }
  function openSite(p, zoom) {
    var panel = $('site');
    document.querySelectorAll('#table tr.current').forEach(function (r) { r.classList.remove('current'); });
    var row = document.querySelector('#table tr[data-site="' + CSS.escape(p.site_id) + '"]');
    if (row) { row.classList.add('current'); }
    if (zoom && S.byId && S.byId[p.site_id]) {
      var f = S.byId[p.site_id], map = $('map').contentWindow.ecozone.map;
      if (f.getBounds) { map.fitBounds(f.getBounds(), {maxZoom: 16, animate: false}); } else { map.setView(f.getLatLng(), Math.max(map.getZoom(), 14), {animate: false}); }
    }
    api('GET', '/api/checks/' + S.check.id + '/findings?' + new URLSearchParams({site: p.site_id})).then(function (d) {
      panel.replaceChildren();
      panel.appendChild(el('h3', p.name));
      var dl = el('dl');
      dlRow(dl, t('siteId'), p.site_id);
      dlRow(dl, t('projectType'), p.project_type);
      dlRow(dl, t('kind'), p.kind);
      dlRow(dl, t('verdict'), badge(p.verdict));
      dlRow(dl, t('reasons'), S.lang === 'zh' ? d.site.reasons_zh : d.site.reasons_en);
      dlRow(dl, t('citations'), d.site.citations);
      panel.appendChild(dl);
      panel.appendChild(findingsTable(d.findings));
      if (d.requirements.length) {
        panel.appendChild(el('h4', t('requirements')));
        d.requirements.forEach(function (r) {
          panel.appendChild(el('div', Object.keys(r).map(function (k) { return k + ': ' + r[k]; }).join(' · '), 'hint'));
        });
      }
      panel.hidden = false;
    }).catch(function (e) { showError(e.message); });
  }
  function findingsTable(rows) {
    var wrap = el('div');
    wrap.appendChild(el('h4', t('findings') + ' (' + rows.length + ')'));
    var table = el('table'), head = el('tr');
    var cols = [['layer', 'layer'], ['zone', S.lang === 'zh' ? 'zone_name_zh' : 'zone_name_en'], ['code', 'zone_code'],
      ['relation', 'relation'], ['area', 'overlap_area_m2'], ['share', 'overlap_share'], ['length', 'overlap_length_m'],
      ['chainage', 'chainage'], ['distance', 'distance_m'], ['rule', 'verdict'], ['citations', 'citation']];
    cols.forEach(function (c) { head.appendChild(el('th', t(c[0]))); });
    table.appendChild(head);
    rows.forEach(function (r) {
      var tr = el('tr');
      cols.forEach(function (c) {
        var v = r[c[1]];
        if (typeof v === 'number') { v = c[1] === 'overlap_share' ? (v * 100).toFixed(1) + '%' : Math.round(v * 10) / 10; }
        var td = el('td', v === null || v === undefined ? '' : v);
        if (c[0] === 'rule' && v) { td.replaceChildren(badge(v)); }
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    wrap.appendChild(table);
    return wrap;
  }

  /* ---- layers ---- */
  function loadLayers() {
    var go = S.layerSets ? Promise.resolve(S.layerSets) : api('GET', '/api/layersets').then(function (d) { S.layerSets = d.layersets; return d.layersets; });
    go.then(renderLayers).catch(function (e) { showError(e.message); });
  }
  function renderLayers() {
    var ls = S.layerSets.filter(function (x) { return x.name === $('layerset').value; })[0], q = $('layer-search').value.toLowerCase();
    var list = $('layer-list');
    list.replaceChildren();
    if (!ls) { return; }
    list.appendChild(el('div', ls['title_' + S.lang] + ' · ' + t('hash') + ' ' + String(ls.content_hash || '').slice(0, 12), 'hint'));
    if (ls['notice_' + S.lang]) { list.appendChild(el('div', ls['notice_' + S.lang], 'hint')); }
    ls.groups.forEach(function (g) {
      var box = el('div', null, 'group'), any = false;
      box.appendChild(el('h4', g['title_' + S.lang]));
      g.layers.forEach(function (l) {
        var hay = [l.id, l.title_zh, l.title_en].concat(l.classes.map(function (c) { return c.code + ' ' + c.zh + ' ' + c.en; })).join(' ').toLowerCase();
        if (q && hay.indexOf(q) === -1) { return; }
        any = true;
        var item = el('div', null, 'layer');
        item.appendChild(el('b', l['title_' + S.lang]));
        l.classes.forEach(function (c) {
          var line = el('div');
          var sw = el('span', null, 'sw');
          sw.style.background = c.color || '#888';
          line.appendChild(sw);
          line.appendChild(el('span', c[S.lang] + (c['control_' + S.lang] ? ' — ' + c['control_' + S.lang] : '')));
          item.appendChild(line);
        });
        item.appendChild(el('div', t('clause') + ': ' + l.clause, 'hint'));
        box.appendChild(item);
      });
      if (any) { list.appendChild(box); }
    });
    var fmt = $('export-fmt');
    if (!fmt.options.length) { S.info.export_formats.forEach(function (f) { fmt.appendChild(new Option(f, f)); }); }
    $('export-link').href = '/api/layersets/' + encodeURIComponent(ls.name) + '/export/' + fmt.value;
  }

  /* ---- history ---- */
  function loadHistory() {
    api('GET', '/api/checks').then(function (d) {
      var body = $('history').tBodies[0];
      body.replaceChildren();
      d.checks.forEach(function (c) {
        var tr = el('tr');
        tr.appendChild(el('td', new Date(c.time).toLocaleString(S.lang === 'zh' ? 'zh-CN' : 'en')));
        tr.appendChild(el('td', c.input_name));
        tr.appendChild(el('td', c.layerset + ' ' + String(c.content_hash || '').slice(0, 8)));
        tr.appendChild(el('td', t(c.status)));
        tr.appendChild(el('td', c.counts ? Object.keys(c.counts).filter(function (k) { return c.counts[k]; })
          .map(function (k) { return verdictLabel(k) + ' ' + c.counts[k]; }).join('，') : ''));
        var td = el('td'), open = el('button', t('open')), again = el('button', t('rerun'));
        open.type = again.type = 'button';
        open.addEventListener('click', function () { showTab('check'); follow(c.id); });
        again.addEventListener('click', function () {
          api('POST', '/api/checks/' + c.id + '/rerun').then(function (r) { showTab('check'); follow(r.id); })
            .catch(function (e) { showError(e.message); });
        });
        if (c.status === 'done') { td.appendChild(open); }
        td.appendChild(again);
        tr.appendChild(td);
        body.appendChild(tr);
      });
    }).catch(function (e) { showError(e.message); });
  }

  /* ---- start ---- */
  function wire() {
    document.querySelectorAll('nav button').forEach(function (b) {
      b.addEventListener('click', function () { showTab(b.getAttribute('data-tab')); });
    });
    $('lang').addEventListener('click', function () {
      S.lang = S.lang === 'zh' ? 'en' : 'zh';
      localStorage.setItem('ecozone-lang', S.lang);
      applyTexts();
      loadMap();
      if (S.check && S.sites.length) { renderTable(); }
      if (S.layerSets) { renderLayers(); }
      if (!$('tab-history').hidden) { loadHistory(); }
    });
    $('logout').addEventListener('click', function () {
      api('POST', '/api/logout').then(function () { window.location.assign('/login'); });
    });
    $('file').addEventListener('change', function () { uploadFile($('file').files[0]); $('file').value = ''; });
    var drop = $('drop');
    drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
    drop.addEventListener('drop', function (e) { e.preventDefault(); drop.classList.remove('over'); uploadFile(e.dataTransfer.files[0]); });
    document.querySelectorAll('[data-draw]').forEach(function (b) {
      b.addEventListener('click', function () { startDrawing(b.getAttribute('data-draw')); });
    });
    $('draw-check').addEventListener('click', checkDrawing);
    $('draw-clear').addEventListener('click', function () { S.drawing = null; $('draw-hint').textContent = ''; redrawDrawing(); });
    $('cancel').addEventListener('click', function () { if (S.check) { api('POST', '/api/checks/' + S.check.id + '/cancel'); } });
    $('filter').addEventListener('change', function () { S.filter = $('filter').value; renderTable(); });
    document.querySelectorAll('th[data-sort]').forEach(function (th) {
      th.addEventListener('click', function () {
        var k = th.getAttribute('data-sort');
        S.asc = S.sort === k ? !S.asc : true;
        S.sort = k;
        renderTable();
      });
    });
    $('layerset').addEventListener('change', function () { loadMap(); if (S.layerSets) { renderLayers(); } });
    $('layer-search').addEventListener('input', renderLayers);
    $('export-fmt').addEventListener('change', renderLayers);
  }
  function openFromHash() {  // #check=ID opens one of the user's checks
    var wanted = new URLSearchParams(window.location.hash.slice(1)).get('check');
    if (wanted) { showError(''); follow(wanted); }
  }
  function start() {
    api('GET', '/api/session').then(function (info) {
      S.info = info;
      $('user').textContent = info.user;
      $('logout').hidden = info.local;
      info.layersets.forEach(function (ls) { $('layerset').appendChild(new Option(ls.name + ' · ' + ls.title_zh, ls.name)); });
      wire();
      applyTexts();
      showTab('check');
      loadMap();
      openFromHash();
      window.addEventListener('hashchange', openFromHash);
      document.documentElement.setAttribute('data-app-ready', '1');
    }).catch(function (e) { showError(e.message); });
  }
  start();
})();
