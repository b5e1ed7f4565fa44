/* ecozone web map: controls, search, legend and test hooks (part of ecozone, MIT).
 *
 * geo/maps.py builds the layers with folium and calls ecozoneSetup(map, layers) once
 * they exist. Every text of the page is in the JSON block #ez-config (read with
 * JSON.parse, never evaluated); the layers' features carry only the index of their
 * texts (properties._f). Every label inserted as HTML (layer and group names, legend,
 * title, popups, tooltips) was escaped in Python; texts set here use textContent.
 */
(function () {
  'use strict';

  var config = null;
  function readConfig() {
    if (config === null) { config = JSON.parse(document.getElementById('ez-config').textContent); }
    return config;
  }

  /* The texts of a feature: {_t: tooltip HTML, _p: popup HTML, _n: search text}. */
  window.ecozoneText = function (feature) {
    return readConfig().features[feature.properties._f] || {};
  };

  function featureCenter(f) {
    return f.getLatLng ? f.getLatLng() : f.getBounds().getCenter();
  }

  function showFeature(map, f) {
    var parent = f._ezParent;
    if (parent && !map.hasLayer(parent)) { map.addLayer(parent); }
    if (f.getBounds) {
      map.fitBounds(f.getBounds(), {maxZoom: 15, padding: [40, 40], animate: false});
    } else {
      map.setView(f.getLatLng(), Math.max(map.getZoom(), 14), {animate: false});
    }
  }

  /* Mouse coordinates in decimal degrees, labelled with the datum shown. */
  var Coordinates = L.Control.extend({
    options: {position: 'bottomright', prefix: ''},
    onAdd: function (map) {
      var div = L.DomUtil.create('div', 'ez-coords leaflet-control');
      var prefix = this.options.prefix;
      div.textContent = prefix;
      map.on('mousemove', function (e) {
        var ll = e.latlng.wrap();
        div.textContent = prefix + ' ' + ll.lng.toFixed(6) + ', ' + ll.lat.toFixed(6);
      });
      return div;
    }
  });

  /* A box of HTML prepared (and escaped) in Python: the legend, the title. */
  var Box = L.Control.extend({
    options: {position: 'bottomleft', className: '', html: ''},
    onAdd: function () {
      var div = L.DomUtil.create('div', this.options.className + ' leaflet-control');
      div.innerHTML = this.options.html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    }
  });

  function addMeasure(map, cfg) {
    // leaflet-measure 2.1.7 with Leaflet >= 1.8 (ljagis/leaflet-measure#171), as folium does
    L.Control.Measure.include({
      _setCaptureMarkerIcon: function () {
        this._captureMarker.options.autoPanOnFocus = false;
        this._captureMarker.setIcon(L.divIcon({iconSize: this._map.getSize().multiplyBy(2)}));
      }
    });
    new L.Control.Measure({
      position: 'topleft',
      localization: cfg.lang === 'zh' ? 'cn' : 'en',
      primaryLengthUnit: 'kilometers',
      secondaryLengthUnit: 'meters',
      primaryAreaUnit: 'hectares',
      secondaryAreaUnit: 'sqmeters',
      activeColor: '#e7298a',
      completedColor: '#7570b3'
    }).addTo(map);
  }

  function addSearch(map, cfg, items) {
    var t = cfg.text, records = {};
    items.forEach(function (item) {
      item.layer.eachLayer(function (f) {
        var p = f.feature && window.ecozoneText(f.feature);
        if (!p || !p._n) { return; }
        var loc = featureCenter(f);
        loc.layer = f;
        records[p._n] = loc;
      });
    });
    var search = new L.Control.Search({
      position: 'topleft',
      sourceData: function (text, callResponse) {
        callResponse(records);
        return {abort: function () {}};
      },
      formatData: function (json) { return json; },
      filterData: function (text, all) {
        var out = {}, q = text.toLowerCase();
        if (!q) { return out; }
        Object.keys(all).forEach(function (key) {
          if (key.toLowerCase().indexOf(q) !== -1) { out[key] = all[key]; }
        });
        return out;
      },
      buildTip: function (text) {
        var li = L.DomUtil.create('li', '');
        li.textContent = text;
        return li;
      },
      moveToLocation: function (latlng, title, m) { showFeature(m, latlng.layer); },
      marker: false,
      autoType: false,
      autoCollapse: true,
      tooltipLimit: 30,
      textPlaceholder: t.search,
      textErr: t.notFound,
      textCancel: t.cancel
    });
    search.on('search:locationfound', function (e) {
      if (e.layer && e.layer.openPopup) { e.layer.openPopup(featureCenter(e.layer)); }
    });
    map.addControl(search);
    // leaflet-search listens to keyup only; Chinese input methods and pasting change the text
    // without one, so run the same search on every input event
    L.DomEvent.on(search._input, 'input', function () { search._handleKeypress({keyCode: 0}); });
    return search;
  }

  function addMiniMap(map, cfg) {
    var mm = cfg.minimap, layer;
    if (!mm) { return; }
    if (mm.url) {
      layer = L.tileLayer(mm.url, mm.options);
    } else {
      layer = L.geoJson(mm.outline, {style: mm.style, interactive: false});
    }
    new L.Control.MiniMap(layer, {
      position: 'bottomright', toggleDisplay: true, width: 150, height: 150,
      zoomLevelOffset: mm.url ? -5 : -3, strings: {hideText: cfg.text.hideMini, showText: cfg.text.showMini}
    }).addTo(map);
  }

  /* Popups sit under the controls (Leaflet draws controls above the map panes), so let
     a popup that opens pan clear of the legend on the left and the layer list on the right. */
  function keepPopupsClear(map, legend, layers) {
    function update() {
      var width = map.getSize().x;
      var left = legend.offsetWidth + 20, right = layers.offsetWidth + 20;
      if (width - left - right < 420) { left = right = 10; }  // narrow screen: nothing to gain
      L.Popup.prototype.options.autoPanPaddingTopLeft = L.point(left, 20);
      L.Popup.prototype.options.autoPanPaddingBottomRight = L.point(right, 20);
    }
    update();
    map.on('resize', update);
    var details = legend.querySelector('details');
    if (details) { details.addEventListener('toggle', update); }
  }

  window.ecozoneSetup = function (map, layers) {
    var cfg = readConfig(), t = cfg.text, overlays = {}, base = null, byId = {}, items = [];
    cfg.groups.forEach(function (g) {
      var group = overlays[g.label] = {};
      g.layers.forEach(function (item) {
        item.layer = layers[item.layer];
        group[item.label] = item.layer;
        byId[item.id] = item.layer;
        item.layer.eachLayer(function (f) { f._ezParent = item.layer; });
        items.push(item);
      });
    });
    if (cfg.base.length) {  // basemaps: the first one is shown
      base = {};
      cfg.base.forEach(function (b, i) {
        var layer = L.layerGroup(b.tiles.map(function (tl) { return L.tileLayer(tl.url, tl.options); }));
        base[b.label] = layer;
        byId['base:' + b.id] = layer;
        if (i === 0) { layer.addTo(map); }
      });
    }
    if (cfg.background) { map.getContainer().style.background = cfg.background; }
    if (cfg.icons) {  // Leaflet looks for its marker images beside the page; give them here
      L.Icon.Default.imagePath = '';
      L.Icon.Default.mergeOptions(cfg.icons);
    }

    L.control.zoom({position: 'topleft', zoomInTitle: t.zoomIn, zoomOutTitle: t.zoomOut}).addTo(map);
    L.control.fullscreen({position: 'topleft', title: t.fullscreen, titleCancel: t.exitFullscreen}).addTo(map);
    addMeasure(map, cfg);
    var search = addSearch(map, cfg, items);
    // top corners stack in the order added, bottom corners upwards from the edge
    new Box({position: 'topright', className: 'ez-title', html: cfg.titleHtml}).addTo(map);
    var control = L.control.groupedLayers(base, overlays, {collapsed: false, position: 'topright'}).addTo(map);
    L.DomUtil.addClass(control.getContainer(), 'ez-layers');
    L.control.scale({position: 'bottomleft', metric: true, imperial: false}).addTo(map);
    var legend = new Box({position: 'bottomleft', className: 'ez-legend', html: cfg.legendHtml}).addTo(map);
    new Coordinates({position: 'bottomright', prefix: t.coords}).addTo(map);
    addMiniMap(map, cfg);
    keepPopupsClear(map, legend.getContainer(), control.getContainer());
    if (cfg.attributionPrefix) { map.attributionControl.setPrefix(cfg.attributionPrefix); }

    // open on the layer set, in the part of the map the legend and layer list leave free
    var pad = map.getSize().x > 1000 ? [legend.getContainer().offsetWidth + 10, control.getContainer().offsetWidth + 10] : [10, 10];
    map.fitBounds(cfg.bounds, {paddingTopLeft: [pad[0], 10], paddingBottomRight: [pad[1], 10], animate: false});
    var home = {center: map.getCenter(), zoom: map.getZoom()};
    window.ecozone = {
      map: map, layers: byId, control: control, search: search,
      home: function () { map.setView(home.center, home.zoom, {animate: false}); },
      ready: window.performance ? performance.now() : null  // ms since navigation start
    };
    document.documentElement.setAttribute('data-ecozone-ready', '1');
  };
})();
