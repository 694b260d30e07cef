/* p4core report: linked views over the embedded data. No network, no storage. */
(function () {
  "use strict";
  var errorBox = document.getElementById("js-error");
  window.addEventListener("error", function (ev) {
    errorBox.hidden = false;
    errorBox.textContent = "Part of this report could not be drawn: " + ev.message;
  });

  var D = JSON.parse(document.getElementById("p4-data").textContent);
  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  var COLOURS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var BAND = ["rgba(0,0,0,0.13)", "rgba(0,114,178,0.18)", "rgba(213,94,0,0.18)", "rgba(0,158,115,0.18)",
              "rgba(204,121,167,0.2)", "rgba(230,159,0,0.2)", "rgba(86,180,233,0.2)"];
  var byDrug = {};
  D.drugs.forEach(function (r) { byDrug[r.drug] = r; });
  var state = { drug: null, compare: [], celltype: null, playDay: null };

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function f3(x) { return x === null || x === undefined ? "–" : x.toFixed(3); }
  function fp(x) { return x === null || x === undefined ? "–" : (x < 0.01 ? x.toPrecision(2) : x.toFixed(2)); }
  function cssEsc(s) { return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&"); }

  // ---- static figures (built in Python with plotly) ----------------------------------------
  // the drawings are hidden from screen readers: each figure's caption is its text alternative
  function quiet(div) {
    div.querySelectorAll("svg.main-svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); });
  }
  Object.keys(D.figures).forEach(function (id) {
    var fig = D.figures[id];
    Plotly.newPlot(id, fig.data, fig.layout, CONFIG).then(quiet);
  });
  var graphDiv = $("fig-graph");
  var nodeTrace = graphDiv.data.length - 1;
  var forestDiv = $("fig-forest");

  // ---- futures: untreated and the selected scenarios, with 95% bands -------------------------
  function scenarioOf(name) {
    return D.course.series[name] ? name : null;
  }
  function futures() {
    var q = $("quantity").value;
    var names = ["untreated"];
    [state.drug].concat(state.compare).forEach(function (d) {
      if (d && scenarioOf(d) && names.indexOf(d) < 0) names.push(d);
    });
    var t = D.course.time, traces = [];
    names.forEach(function (name, k) {
      var s = D.course.series[name][q];
      if (!s) return;
      traces.push({ x: t.concat(t.slice().reverse()), y: s.upper.concat(s.lower.slice().reverse()),
        fill: "toself", fillcolor: BAND[k % BAND.length], line: { width: 0 }, hoverinfo: "skip",
        showlegend: false, name: name + " (95% band)" });
      traces.push({ x: t, y: s.mean, mode: "lines", name: name,
        line: { color: COLOURS[k % COLOURS.length], width: k === 0 ? 2.2 : 2.6, dash: k === 0 ? "dash" : "solid" },
        hovertemplate: esc(name) + ", day %{x:g}: %{y:.3f}<extra></extra>" });
    });
    var shapes = [{ type: "line", xref: "x", yref: "paper", x0: D.course.treatment_day, x1: D.course.treatment_day,
      y0: 0, y1: 1, line: { color: "#595959", width: 1, dash: "dot" } }];
    if (state.playDay !== null) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: state.playDay, x1: state.playDay, y0: 0, y1: 1,
        line: { color: "#D55E00", width: 2 } });
    }
    var layout = {
      template: "none", height: 360, margin: { l: 55, r: 15, t: 36, b: 45 },
      title: { text: (q === "burden" ? "Disease burden" : "Disease activity: " + esc(q)), x: 0.01, xanchor: "left",
        font: { size: 14 } },
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1b1b1b" },
      xaxis: { title: { text: "days (0 = sampling; dotted: treatment starts)" }, gridcolor: "#d9d9d9", zeroline: false },
      yaxis: { title: { text: q === "burden" ? "burden" : "activity" }, gridcolor: "#d9d9d9", rangemode: "tozero" },
      legend: { orientation: "h", y: -0.25 }, shapes: shapes, paper_bgcolor: "white", plot_bgcolor: "white"
    };
    Plotly.react("fig-futures", traces, layout, CONFIG).then(quiet);
    var cap = [];
    names.forEach(function (name) {
      var s = D.course.series[name][q];
      if (s) {
        var n = s.mean.length - 1;
        cap.push(name + ": " + s.mean[n].toFixed(2) + " [" + s.lower[n].toFixed(2) + ", " + s.upper[n].toFixed(2) + "]");
      }
    });
    var missing = [state.drug].concat(state.compare).filter(function (d) { return d && !scenarioOf(d); });
    var text = "At day " + D.course.horizon + " (mean [95% band over twins]): " + cap.join("; ") + ".";
    if (missing.length) {
      text += " Not simulated in this report: " + missing.join(", ") +
        " (raise render.html.courses, or add it to simulate.treatments).";
    }
    $("futures-caption").textContent = text;
  }

  function mechanism(r) {
    var parts = r ? r.parts : [];
    var colours = parts.map(function (p) { return p !== null && p >= 0 ? "#009E73" : "#D55E00"; });
    Plotly.react("fig-mechanism", [{ type: "bar", x: D.celltypes, y: parts, marker: { color: colours },
      hovertemplate: "%{x}: %{y:.3f}<extra></extra>", name: "part of the score" }], {
      template: "none", height: 260, margin: { l: 55, r: 10, t: 32, b: 70 },
      title: { text: "Where it acts: part of the score by cell type", x: 0.01, xanchor: "left", font: { size: 14 } },
      font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1b1b1b" },
      yaxis: { gridcolor: "#d9d9d9", zeroline: true, zerolinecolor: "#595959" }, xaxis: { automargin: true },
      paper_bgcolor: "white", plot_bgcolor: "white"
    }, CONFIG).then(quiet);
    $("mechanism-caption").textContent = r ? "Part of the score of " + r.drug + " by cell type: " +
      D.celltypes.map(function (c, i) { return c + " " + f3(parts[i]); }).join("; ") +
      ". Positive (green): the drug moves that cell type back towards reference." : "";
  }

  function targetsHtml(r) {
    if (!r.targets.length) return "<p>No target of this drug is in the model.</p>";
    var head = "<tr><th scope='col'>target</th>" + D.celltypes.map(function (c) {
      return "<th scope='col'>" + esc(c) + "</th>"; }).join("") + "</tr>";
    var body = r.targets.map(function (t) {
      var cells = D.celltypes.map(function (c, i) {
        var fc = t.logfc[i], act = t.active[i];
        var txt = fc === null ? "–" : (fc > 0 ? "+" : "") + fc.toFixed(2);
        var on = act !== null && act > 0.5;
        return "<td class='num' title='active in " + (act === null ? "–" : Math.round(100 * act) + "%") +
          " of twins'>" + (on ? "<strong>" + txt + "</strong>" : txt) + "</td>";
      }).join("");
      return "<tr><th scope='row'>" + (t.sign < 0 ? "−" : "+") + esc(t.gene) + " <span class='muted'>" + esc(t.action) +
        (t.in_model ? (t.measured ? "" : ", latent") : ", not in the model") + "</span></th>" + cells + "</tr>";
    }).join("");
    return "<table class='small'><caption>Targets: change in each cell type (log2 fold change, disease vs reference; bold: " +
      "active in the twins' network there)</caption><thead>" + head + "</thead><tbody>" + body + "</tbody></table>";
  }

  // ---- selection -------------------------------------------------------------------------------
  function highlightGraph() {
    var r = state.drug ? byDrug[state.drug] : null;
    var colours = [], widths = [], lines = [];
    D.graph_order.forEach(function (ct) {
      var acting = r && r.drivers.indexOf(ct) >= 0;
      colours.push(r ? (acting ? "#009E73" : "#bdbdbd") : "#D55E00");
      var chosen = state.celltype === ct;
      widths.push(chosen ? 5 : (acting ? 3 : 1.5));
      lines.push(chosen ? "#f0a000" : "#1b1b1b");
    });
    Plotly.restyle(graphDiv, { "marker.color": [colours], "marker.line.width": [widths], "marker.line.color": [lines] },
      [nodeTrace]);
  }

  function highlightForest() {
    var trace = forestDiv.data[0];
    var sizes = trace.customdata.map(function (c) { return c[0] === state.drug ? 16 : 10; });
    Plotly.restyle(forestDiv, { "marker.size": [sizes] }, [0]);
  }

  function selectDrug(name, focusPanel) {
    state.drug = name;
    document.querySelectorAll("#drug-table tbody tr").forEach(function (tr) {
      var on = tr.getAttribute("data-drug") === name;
      tr.classList.toggle("selected", on);
    });
    document.querySelectorAll("button.drug").forEach(function (b) {
      b.setAttribute("aria-current", b.getAttribute("data-drug") === name ? "true" : "false");
    });
    var r = byDrug[name];
    $("sel-name").textContent = name;
    if (r) {
      var flags = [];
      if (r.already_taken) flags.push("already taken by the patient");
      if (r.avoid) flags.push("avoid: " + r.avoid);
      $("sel-facts").innerHTML =
        "<p><strong>Rank " + r.rank + "</strong> · score " + f3(r.score) + " [" + f3(r.ci[0]) + ", " + f3(r.ci[1]) +
        "] · FDR " + fp(r.fdr) + " · P(top " + D.top_k + ") " + (r.p_top === null ? "–" : r.p_top.toFixed(2)) + "</p>" +
        "<p>Acts through: " + esc(r.drivers.join(", ") || "–") + "</p>" +
        "<p>Targets: " + r.targets.map(function (t) { return "<span class='target hit'>" + (t.sign < 0 ? "−" : "+") +
          esc(t.gene) + "</span>"; }).join(" ") + (r.atc ? " · ATC " + esc(r.atc) : "") +
        (r.approval ? " · " + esc(r.approval) : "") + "</p>" +
        "<p>Known indications: " + esc(r.indications.join("; ") || "–") + "</p>" +
        (flags.length ? "<p><strong>" + esc(flags.join("; ")) + "</strong></p>" : "");
      $("sel-targets").innerHTML = targetsHtml(r);
    } else {
      $("sel-facts").innerHTML = "<p>A combination simulated by the run.</p>";
      $("sel-targets").innerHTML = "";
    }
    mechanism(r);
    futures();
    highlightGraph();
    highlightForest();
    if (focusPanel) $("sel-name").focus();
  }

  function selectCelltype(ct) {
    state.celltype = ct;
    var shown = 0, total = 0;
    document.querySelectorAll("#drug-table tbody tr").forEach(function (tr) {
      total += 1;
      var drivers = (tr.getAttribute("data-drivers") || "").split("|");
      var keep = !ct || drivers.indexOf(ct) >= 0;
      tr.hidden = !keep;
      if (keep) shown += 1;
    });
    document.querySelectorAll("button.celltype").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-celltype") === ct ? "true" : "false");
    });
    $("clear-celltype").disabled = !ct;
    $("filter-status").textContent = ct
      ? "Showing " + shown + " of " + total + " drugs that act through " + ct + "."
      : "Showing all " + total + " drugs. Select a cell type (graph or buttons) to filter.";
    var node = null;
    (D.figures["fig-graph"].data[nodeTrace].customdata || []).forEach(function (c) { if (c[0] === ct) node = c; });
    $("celltype-detail").innerHTML = node
      ? "<p><strong>" + esc(ct) + "</strong>: " + node[1].toFixed(1) + "% of the disease signature, " + node[2] +
        " genes changed. Up: " + esc(node[3]) + ". Down: " + esc(node[4]) + ".</p>"
      : "";
    highlightGraph();
  }

  // ---- wiring ----------------------------------------------------------------------------------
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button");
    if (!b) return;
    if (b.classList.contains("drug")) selectDrug(b.getAttribute("data-drug"), false);
    else if (b.classList.contains("celltype")) {
      var ct = b.getAttribute("data-celltype");
      selectCelltype(state.celltype === ct ? null : ct);
    } else if (b.id === "clear-celltype") selectCelltype(null);
    else if (b.classList.contains("seek")) {
      var player = $("course-audio");
      player.currentTime = parseFloat(b.getAttribute("data-seconds"));
      player.play();
    }
  });
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (box.id === "quantity") { futures(); return; }
    if (!box.classList.contains("compare")) return;
    var d = box.getAttribute("data-drug");
    state.compare = state.compare.filter(function (x) { return x !== d; });
    if (box.checked) state.compare.push(d);
    if (state.compare.length > 5) {
      var dropped = state.compare.shift();
      var other = document.querySelector("input.compare[data-drug=\"" + cssEsc(dropped) + "\"]");
      if (other) other.checked = false;
    }
    document.querySelectorAll("#drug-table tbody tr").forEach(function (tr) {
      tr.classList.toggle("compared", state.compare.indexOf(tr.getAttribute("data-drug")) >= 0);
    });
    futures();
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && state.celltype) selectCelltype(null);
  });
  graphDiv.on("plotly_click", function (ev) {
    var p = ev.points && ev.points[0];
    if (p && p.curveNumber === nodeTrace && p.customdata) {
      var ct = p.customdata[0];
      selectCelltype(state.celltype === ct ? null : ct);
    }
  });
  forestDiv.on("plotly_click", function (ev) {
    var p = ev.points && ev.points[0];
    if (p && p.customdata) selectDrug(p.customdata[0], false);
  });

  // ---- sound: a playhead on the course follows the audio ------------------------------------
  var audio = $("course-audio");
  if (audio && D.sound) {
    var S = D.sound, secondsPerTick = 60 / S.tempo / S.ticks_per_beat;
    var last = -1;
    audio.addEventListener("timeupdate", function () {
      var tick = audio.currentTime / secondsPerTick;
      var k = Math.floor(tick / S.segment_ticks);
      var seg = S.segments[Math.min(k, S.segments.length - 1)];
      var day = S.t0 + (tick - seg.start_tick) / S.ticks_per_day;
      var playing = Object.keys(seg.voices).map(function (side) { return seg.voices[side]; });
      var label = playing.join(" vs ");
      var treated = playing.filter(function (s) { return s !== "untreated" && D.course.series[s]; })[0];
      if (treated && treated !== state.drug && !audio.paused) selectDrug(treated, false);  // show what is heard
      if (day > S.t1) { state.playDay = null; $("now-playing").textContent = "Between scenarios."; }
      else {
        state.playDay = Math.round(day);
        $("now-playing").textContent = "Now playing: " + label + ", day " + state.playDay + ".";
      }
      if (state.playDay !== last) { last = state.playDay; futures(); }
    });
  }

  var first = D.drugs.length ? D.drugs[0].drug : null;
  selectCelltype(null);
  if (first) selectDrug(first, false);
  window.p4coreReady = true;
})();
