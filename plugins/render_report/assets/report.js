/* p4core report: linked views over the embedded data. No network, no storage. */
(function () {
  "use strict";
  var errorBox = document.getElementById("js-error");
  window.addEventListener("error", function (ev) {
    errorBox.hidden = false;
    errorBox.textContent = "Part of this report could not be drawn: " + ev.message;
  });

  var D = JSON.parse(document.getElementById("p4-data").textContent);
  // no cloud button, no server: the figures never leave the page
  var CONFIG = { displaylogo: false, responsive: true, showSendToCloud: false, showEditInChartStudio: false,
    plotlyServerURL: "", modeBarButtonsToRemove: ["lasso2d", "select2d", "sendDataToCloud"] };
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 12, color: "#1b1b1b" };
  var COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var BANDS = ["rgba(0,114,178,0.18)", "rgba(213,94,0,0.18)", "rgba(0,158,115,0.18)", "rgba(204,121,167,0.2)",
               "rgba(230,159,0,0.2)", "rgba(86,180,233,0.2)"];
  var MAX_COMPARE = 5;
  var byDrug = {}, byPair = {};
  D.drugs.forEach(function (r) { byDrug[r.drug] = r; });
  (D.pairs || []).forEach(function (p) { byPair[p.scenario] = p; });
  var lastButton = null;
  var state = { drug: null, compare: [], celltype: null, playDay: null, playing: null, colour: {} };

  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function f3(x) { return x === null || x === undefined ? "–" : x.toFixed(3); }
  function fp(x) {  // as the table prints it (Python's .2g below 0.01)
    return x === null || x === undefined ? "–" : (x < 0.01 ? String(Number(x.toPrecision(2))) : x.toFixed(2));
  }
  function label(name) { return name === "untreated" ? "without a new drug" : name; }
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }  // live regions: only changes
  function cssEsc(s) { return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, "\\$&"); }

  // the drawings are hidden from screen readers (each figure's caption is its text alternative) and the
  // toolbar buttons leave the tab order (the tables hold the same numbers)
  function quiet(div) {
    div.querySelectorAll("svg.main-svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); });
    div.querySelectorAll(".modebar-btn").forEach(function (b) { b.setAttribute("tabindex", "-1"); });
    return div;
  }
  // a figure keeps its height when the window is resized (responsive Plotly follows the div's size)
  function plot(id, data, layout, react) {
    var div = $(id);
    div.style.height = layout.height + "px";
    return (react ? Plotly.react : Plotly.newPlot)(div, data, layout, CONFIG).then(quiet);
  }

  // ---- static figures (built in Python with plotly) ----------------------------------------
  Object.keys(D.figures).forEach(function (id) { plot(id, D.figures[id].data, D.figures[id].layout, false); });
  var graphDiv = $("fig-graph");
  var nodeTrace = graphDiv.data.length - 1;
  var forestDiv = $("fig-forest");

  // ---- futures: without a new drug and the selected scenarios, with 95% bands ----------------
  function hasCourse(name) { return !!D.course.series[name]; }
  function shown() {
    var names = ["untreated"];
    [state.drug].concat(state.compare).forEach(function (d) {
      if (d && hasCourse(d) && names.indexOf(d) < 0) names.push(d);
    });
    return names;
  }
  function colourOf(name, names) {  // a drug keeps its colour while it is shown
    Object.keys(state.colour).forEach(function (d) { if (names.indexOf(d) < 0) delete state.colour[d]; });
    if (state.colour[name] === undefined) {
      var used = Object.keys(state.colour).map(function (d) { return state.colour[d]; });
      for (var k = 0; k < COLOURS.length; k++) if (used.indexOf(k) < 0) { state.colour[name] = k; break; }
    }
    return state.colour[name] === undefined ? 0 : state.colour[name];
  }
  function shapes() {
    var out = [{ type: "line", xref: "x", yref: "paper", x0: D.course.treatment_day, x1: D.course.treatment_day,
      y0: 0, y1: 1, line: { color: "#595959", width: 1, dash: "dot" } }];
    if (state.playDay !== null && shown().indexOf(state.playing) >= 0) {
      out.push({ type: "line", xref: "x", yref: "paper", x0: state.playDay, x1: state.playDay, y0: 0, y1: 1,
        line: { color: "#595959", width: 3 }, label: { text: "playing", textposition: "end", font: { size: 11 } } });
    }
    return out;
  }
  function futures() {
    var q = $("quantity").value;
    var names = shown();
    var t = D.course.time, traces = [];
    names.slice(1).concat(["untreated"]).forEach(function (name) {  // untreated on top: the same before treatment
      var s = D.course.series[name][q];
      if (!s) return;
      var base = name === "untreated";
      var k = base ? -1 : colourOf(name, names);
      traces.push({ x: t.concat(t.slice().reverse()), y: s.upper.concat(s.lower.slice().reverse()),
        fill: "toself", fillcolor: base ? "rgba(0,0,0,0.12)" : BANDS[k], line: { width: 0 }, hoverinfo: "skip",
        showlegend: false, name: label(name) + " (95% band)" });
      traces.push({ x: t, y: s.mean, mode: "lines", name: label(name),
        line: { color: base ? "#000000" : COLOURS[k], width: base ? 2.2 : 2.6, dash: base ? "dash" : "solid" },
        hovertemplate: esc(label(name)) + ", day %{x:g}: %{y:.3f}<extra></extra>" });
    });
    var what = q === "burden" ? "disease burden" : "disease-signature level of " + q;
    plot("fig-futures", traces, {
      template: "none", height: 380, margin: { l: 55, r: 15, t: 36, b: 95 },
      title: { text: esc(what.charAt(0).toUpperCase() + what.slice(1)), x: 0.01, xanchor: "left", font: { size: 14 } },
      font: FONT,
      xaxis: { title: { text: "days (0 = sampling; dotted: treatment starts)" }, gridcolor: "#d9d9d9", zeroline: false },
      yaxis: { title: { text: "1 = as at sampling, 0 = reference" }, gridcolor: "#d9d9d9", rangemode: "tozero" },
      legend: { orientation: "h", y: -0.32 }, shapes: shapes(), paper_bgcolor: "white", plot_bgcolor: "white"
    }, true);
    var parts = [];
    names.forEach(function (name) {
      var s = D.course.series[name][q];
      if (!s) return;
      var n = s.mean.length - 1, lo = n;  // a treated course's lowest point after the treatment day
      s.mean.forEach(function (v, i) { if (t[i] > D.course.treatment_day && v < s.mean[lo]) lo = i; });
      var low = name !== "untreated" && s.mean[n] - s.mean[lo] > 0.005;
      parts.push(label(name) + ": " + s.mean[n].toFixed(2) + " [" + s.lower[n].toFixed(2) + ", " +
        s.upper[n].toFixed(2) + "] on day " + t[n] + (low ? " (lowest about " + s.mean[lo].toFixed(2) + ", near day " + t[lo] + ")" : ""));
    });
    var missing = [state.drug].concat(state.compare).filter(function (d) { return d && !hasCourse(d); });
    var text = "The " + what + ", mean [95% band over twins]: " + parts.join("; ") + ".";
    if (missing.length) {
      text += " The course of " + missing.join(", ") + " is not in this report: it holds the best " + D.courses +
        " drugs' (the option render.html.courses sets how many), or name the drug in simulate.treatments.";
    }
    setText($("futures-caption"), text);
  }

  function mechanism(r) {
    var box = $("fig-mechanism").closest("figure");
    box.hidden = !r;
    if (!r) return;
    var colours = r.parts.map(function (p) { return p !== null && p >= 0 ? "#009E73" : "#D55E00"; });
    plot("fig-mechanism", [{ type: "bar", x: D.celltypes, y: r.parts, marker: { color: colours },
      hovertemplate: "%{x}: %{y:.3f}<extra></extra>", name: "part of the score" }], {
      template: "none", height: 270, margin: { l: 55, r: 10, t: 32, b: 80 },
      title: { text: "Where it acts: part of the score by cell type", x: 0.01, xanchor: "left", font: { size: 14 } },
      font: FONT, yaxis: { gridcolor: "#d9d9d9", zeroline: true, zerolinecolor: "#595959" },
      xaxis: { automargin: true }, paper_bgcolor: "white", plot_bgcolor: "white"
    }, true);
    setText($("mechanism-caption"), "Part of the score of " + r.drug + " by cell type: " +
      D.celltypes.map(function (c, i) { return c + " " + f3(r.parts[i]); }).join("; ") +
      ". Green (positive): the drug moves that cell type back towards the reference; red (negative): further into the disease.");
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
        var share = act === null ? "" : " (in the network of " + Math.round(100 * act) + "% of twins)";
        return "<td class='num'>" + (on ? "<strong>" + txt + "</strong>" : txt) +
          "<span class='sr-only'>" + esc(share) + "</span></td>";
      }).join("");
      return "<tr><th scope='row'>" + (t.sign < 0 ? "−" : "+") + esc(t.gene) + " <span class='muted'>" +
        esc(t.action.replace(/_/g, " ")) + (t.in_model ? (t.measured ? "" : ", not measured") : ", not in the model") +
        "</span></th>" + cells + "</tr>";
    }).join("");
    return "<table class='small'><caption>Targets: change in each cell type (log2 fold change, disease vs reference; " +
      "bold: active in the network there in most twins)</caption><thead>" + head + "</thead><tbody>" + body + "</tbody></table>";
  }

  // ---- selection -------------------------------------------------------------------------------
  function actingOn(name) {
    if (byDrug[name]) return byDrug[name].drivers;
    var p = byPair[name];
    if (!p) return [];
    var out = [];
    p.drugs.forEach(function (d) { (byDrug[d] ? byDrug[d].drivers : []).forEach(function (c) {
      if (out.indexOf(c) < 0) out.push(c); }); });
    return out;
  }
  function highlightGraph() {
    var acting = state.drug ? actingOn(state.drug) : null;
    var colours = [], widths = [], lines = [];
    D.graph_order.forEach(function (ct) {
      var on = acting && acting.indexOf(ct) >= 0;
      colours.push(acting ? (on ? "#009E73" : "#bdbdbd") : "#D55E00");
      var chosen = state.celltype === ct;
      widths.push(chosen ? 5 : (on ? 3 : 1.5));
      lines.push(chosen ? "#f0a000" : "#1b1b1b");
    });
    Plotly.restyle(graphDiv, { "marker.color": [colours], "marker.line.width": [widths], "marker.line.color": [lines] },
      [nodeTrace]);
    setText($("graph-note"), state.drug
      ? "Green: the cell types " + state.drug + " acts through (" + (acting.join(", ") || "none") + "); grey: the others."
      : "");
  }

  function highlightForest() {
    var trace = forestDiv.data[0];
    var sizes = trace.customdata.map(function (c) { return c[0] === state.drug ? 16 : 10; });
    Plotly.restyle(forestDiv, { "marker.size": [sizes] }, [0]);
  }

  function factsHtml(name) {
    var r = byDrug[name], p = byPair[name];
    if (r) {
      var flags = [];
      if (r.already_taken) flags.push("already taken by the patient");
      if (r.avoid) flags.push("avoid: " + r.avoid);
      return "<p><strong>Rank " + esc(r.shown_rank) + "</strong> · score " + f3(r.score) + " [" + f3(r.ci[0]) + ", " +
        f3(r.ci[1]) + "] · FDR " + fp(r.fdr) + " · P(top " + D.top_k + ") " + (r.p_top === null ? "–" : r.p_top.toFixed(2)) +
        "</p>" + (r.tie.length ? "<p class='muted'>Same score (same targets): " + esc(r.tie.join(", ")) + "</p>" : "") +
        "<p>Acts through: " + esc(r.drivers.join(", ") || "–") + "</p>" +
        "<p>Targets: " + r.targets.map(function (t) { return "<span class='target'>" + (t.sign < 0 ? "−" : "+") +
          esc(t.gene) + "</span>"; }).join(" ") + (r.atc ? " · ATC " + esc(r.atc) : "") +
        (r.approval ? " · " + esc(r.approval) : "") + "</p>" +
        "<p>Known indications: " + esc(r.indications.join("; ") || "–") + "</p>" +
        (flags.length ? "<p><strong class='flag avoid'>" + esc(flags.join("; ")) + "</strong></p>" : "") +
        linesHtml(r) + whyHtml(r);
    }
    if (p) {
      return "<p><strong>Pair " + p.rank + "</strong> · score " + f3(p.score) + " [" + f3(p.ci[0]) + ", " + f3(p.ci[1]) +
        "] · gain over the better drug " + f3(p.gain) + " [" + f3(p.gain_ci[0]) + ", " + f3(p.gain_ci[1]) + "] (additivity, not synergy) · P(gain) " +
        fp(p.p_gain) + "</p><p>Both drugs from the treatment day; acts through: " +
        esc(actingOn(name).join(", ") || "–") + "</p>";
    }
    return "<p>A scenario of the run.</p>";
  }

  function linesHtml(r) {  // the lines of evidence beside the twin: an absent line is said to be absent
    if (r.probability === null || r.probability === undefined) return "";
    var g = r.genetics, p = r.precedent;
    return "<h4>Lines of evidence</h4><p>" + (r.tier ? "<strong>Tier " + esc(r.tier) + "</strong>: " + esc(r.tier_text) + ". " : "") +
      "P(disease-modifying) " + (r.probability === null ? "–" : r.probability.toFixed(3)) + "</p><ul>" +
      "<li>Twin: score " + f3(r.score) + ", FDR " + fp(r.fdr) + "</li>" +
      "<li>Genetics: " + (g ? "score " + f3(g.score) + ", z " + f3(g.z) + ", FDR " + fp(g.fdr) +
        (g.genes ? " · risk genes at or next to its target: " + esc(g.genes) : "") : "absent") + "</li>" +
      "<li>Precedent: " + (p ? (p.standard ? "standard for the diagnosis · " : "") + "score " + f3(p.score) +
        (p.related ? " · used for related diseases: " + esc(p.related) : "") : "absent") + "</li></ul>";
  }

  function whyHtml(r) {  // the two views, the flags and the genes that carry the score (p4core explain)
    var v = r.views || {}, m = v.marker || {}, g = v.programme || {};
    function rk(x) { return x === null || x === undefined ? "–" : String(Math.round(x)); }
    var out = "<h4>Why it ranks here</h4><p>At its own targets (acting on disease markers): " + f3(m.score) +
      ", rank " + rk(m.rank) + ", FDR " + fp(m.fdr) + " · downstream (the programme its targets drive): " +
      f3(g.score) + ", rank " + rk(g.rank) + ", FDR " + fp(g.fdr) +
      (r.marker_share === null ? "" : " · own targets carry " + Math.round(100 * r.marker_share) + "% of the score") + "</p>";
    if (r.evidence && r.evidence.length) out += "<p><strong class='flag evidence'>" + esc(r.evidence.join("; ")) + "</strong></p>";
    if (!r.explain) return out + "<p class='muted'>Gene-level explanation: for the best drugs of the run (explain.top).</p>";
    if (r.explain.neighbours) out += "<p class='muted'>" + esc(r.explain.neighbours) + "</p>";
    var rows = r.explain.genes.map(function (x) {
      return "<tr><td>" + esc(x.gene) + (x.target ? " <span class='muted'>(target)</span>" : "") + "</td><td>" +
        esc(x.celltype) + "</td><td class='num'>" + f3(x.signature) + "</td><td class='num'>" + f3(x.change) +
        "</td><td class='num'>" + (x.share === null ? "–" : Math.round(100 * x.share) + "%") + "</td></tr>";
    }).join("");
    return out + "<table class='small'><caption>Genes carrying the score (first twin): disease change, the drug's " +
      "predicted change, share of the score (negative: works against it)</caption><thead><tr><th scope='col'>gene</th>" +
      "<th scope='col'>cell type</th><th scope='col'>disease</th><th scope='col'>drug</th><th scope='col'>share</th>" +
      "</tr></thead><tbody>" + rows + "</tbody></table>";
  }

  function selectDrug(name, reveal, focusPanel) {
    state.drug = name;
    document.querySelectorAll("#drug-table tbody tr").forEach(function (tr) {
      tr.classList.toggle("selected", tr.getAttribute("data-drug") === name);
    });
    document.querySelectorAll("button.drug").forEach(function (b) {
      b.setAttribute("aria-current", b.getAttribute("data-drug") === name ? "true" : "false");
    });
    $("sel-name").textContent = name;
    $("sel-facts").innerHTML = factsHtml(name);
    $("sel-targets").innerHTML = byDrug[name] ? targetsHtml(byDrug[name]) : "";
    mechanism(byDrug[name]);
    futures();
    highlightGraph();
    highlightForest();
    var top = $("drug-panel").getBoundingClientRect().top;
    if (reveal !== false && (top < 0 || top > window.innerHeight - 80)) {  // the panel is off screen (narrow window, pairs, forest)
      $("drug-panel").scrollIntoView({ block: "start" });
      focusPanel = true;
    }
    if (focusPanel) $("sel-name").focus({ preventScroll: true });
  }

  function selectCelltype(ct) {
    state.celltype = ct;
    var n = 0, total = 0;
    document.querySelectorAll("#drug-table tbody tr").forEach(function (tr) {
      total += 1;
      var keep = !ct || (tr.getAttribute("data-drivers") || "").split("|").indexOf(ct) >= 0;
      tr.hidden = !keep;
      if (keep) n += 1;
    });
    document.querySelectorAll("button.celltype").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-celltype") === ct ? "true" : "false");
    });
    $("clear-celltype").disabled = !ct;
    setText($("filter-status"), ct
      ? "Showing " + n + " of " + total + " drugs that act through " + ct + " (Escape: show all)."
      : "Showing all " + total + " drugs. Select a cell type (graph or buttons) to filter.");
    var node = null;
    (D.figures["fig-graph"].data[nodeTrace].customdata || []).forEach(function (c) { if (c[0] === ct) node = c; });
    $("celltype-detail").innerHTML = node
      ? "<p><strong>" + esc(ct) + "</strong>: " + node[1].toFixed(1) + "% of the disease signature, " + node[2] +
        " genes changed. Up: " + esc(node[3]) + ". Down: " + esc(node[4]) + ".</p>"
      : "";
    highlightGraph();
  }

  function setCompare(d, on) {
    state.compare = state.compare.filter(function (x) { return x !== d; });
    var note = "";
    if (on) state.compare.push(d);
    if (state.compare.length > MAX_COMPARE) {
      var dropped = state.compare.shift();
      var other = document.querySelector("input.compare[data-drug=\"" + cssEsc(dropped) + "\"]");
      if (other) other.checked = false;
      note = "At most " + MAX_COMPARE + " drugs are compared: " + dropped + " was taken off.";
    }
    document.querySelectorAll("#drug-table tbody tr").forEach(function (tr) {
      tr.classList.toggle("compared", state.compare.indexOf(tr.getAttribute("data-drug")) >= 0);
    });
    if (note) setText($("filter-status"), note);
    futures();
  }

  // ---- wiring ----------------------------------------------------------------------------------
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button");
    if (!b) return;
    if (b.classList.contains("drug")) {
      selectDrug(b.getAttribute("data-drug"), true, ev.detail === 0);  // detail 0: Enter or Space, not a mouse click
      lastButton = b;
    } else if (b.id === "back-to-ranking") {
      (lastButton || document.querySelector("#drug-table button.drug")).focus();
    }
    else if (b.classList.contains("celltype")) {
      var ct = b.getAttribute("data-celltype");
      selectCelltype(state.celltype === ct ? null : ct);
    } else if (b.id === "clear-celltype") selectCelltype(null);
    else if (b.classList.contains("seek")) {  // a scenario's segment: show that scenario, play it
      var scen = b.getAttribute("data-scenario");
      if (scen && scen !== "untreated" && hasCourse(scen) && scen !== state.drug) selectDrug(scen, false);
      var player = $("course-audio");
      player.currentTime = parseFloat(b.getAttribute("data-seconds"));
      player.play();
    }
  });
  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (box.id === "quantity") futures();
    else if (box.classList.contains("compare")) setCompare(box.getAttribute("data-drug"), box.checked);
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
    if (p && p.customdata) selectDrug(p.customdata[0]);
  });

  // ---- sound: a playhead on the course follows the audio (the selection stays the user's) ------
  var audio = $("course-audio");
  if (audio && D.sound) {
    var S = D.sound, secondsPerTick = 60 / S.tempo / S.ticks_per_beat;
    var lastSegment = -1;
    audio.addEventListener("timeupdate", function () {
      var tick = audio.currentTime / secondsPerTick;
      var k = Math.min(Math.floor(tick / S.segment_ticks), S.segments.length - 1);
      var seg = S.segments[k];
      var day = S.t0 + (tick - seg.start_tick) / S.ticks_per_day;
      var voices = Object.keys(seg.voices).map(function (side) { return seg.voices[side]; });
      state.playing = voices.filter(function (v) { return v !== "untreated"; })[0] || "untreated";
      var playDay = day > S.t1 ? null : Math.round(day);
      if (k !== lastSegment) {  // announce only a new segment
        lastSegment = k;
        setText($("now-playing"), "Now playing: " + voices.map(label).join(" vs ") +
          (shown().indexOf(state.playing) >= 0 ? "; the grey ‘playing’ line on the course plot (Treatments and futures) follows it." :
            "; select it (or its button above) to see its course."));
      }
      if (playDay !== state.playDay) {
        state.playDay = playDay;
        Plotly.relayout("fig-futures", { shapes: shapes() });  // the playhead alone: zoom and data stay
      }
    });
  }

  selectCelltype(null);
  if (D.drugs.length) selectDrug(D.drugs[0].drug, false);
  window.p4coreReady = true;
})();
