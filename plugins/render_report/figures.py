"""The report's static figures, drawn with Plotly (plotly.graph_objects); the page's script adds
the linked highlights and the futures. Colours: Okabe-Ito (colour-blind safe); text #1b1b1b."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

INK, GREY, LIGHT = "#1b1b1b", "#595959", "#d9d9d9"
BLUE, VERMILION, GREEN, PURPLE, ORANGE, SKY = "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"
EVENT_SYMBOLS = {
    "diagnosis": "diamond",
    "imaging": "square",
    "treatment_start": "triangle-up",
    "treatment_stop": "triangle-down",
    "threshold": "x",
    "sampling": "star",
    "onset": "circle-open",
}


def _layout(fig: go.Figure, title: str, height: int, **kw: Any) -> go.Figure:
    fig.update_layout(
        template="none",
        title={"text": title, "font": {"size": 15, "color": INK}, "x": 0.01, "xanchor": "left"},
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13, "color": INK},
        height=height,
        margin=kw.pop("margin", {"l": 60, "r": 20, "t": 48, "b": 48}),
        paper_bgcolor="white",
        plot_bgcolor="white",
        hoverlabel={"font": {"size": 13}},
        **kw,
    )
    return fig


# a schematic body on a (-3, 3) x (0, 10) canvas: (kind, x0, y0, x1, y1) or ("path", svg-path)
BODY = [
    ("circle", -0.55, 8.45, 0.55, 9.85),  # head
    ("rect", -0.18, 7.95, 0.18, 8.5),  # neck
    (
        "path",
        "M -1.25 7.9 Q 0 8.15 1.25 7.9 L 1.1 4.9 Q 1.2 3.6 1.05 2.75 L -1.05 2.75 Q -1.2 3.6 -1.1 4.9 Z",
    ),
    ("path", "M 1.25 7.85 L 1.75 6.1 L 2.15 3.45 L 1.9 3.4 L 1.45 6.0 L 1.05 7.3 Z"),  # right arm
    ("path", "M -1.25 7.85 L -1.75 6.1 L -2.15 3.45 L -1.9 3.4 L -1.45 6.0 L -1.05 7.3 Z"),  # left arm
    ("path", "M 0.08 2.8 L 1.05 2.8 L 0.8 0.1 L 0.35 0.1 Z"),  # legs
    ("path", "M -0.08 2.8 L -1.05 2.8 L -0.8 0.1 L -0.35 0.1 Z"),
]


def body_figure(region: dict[str, Any] | None, n_cells: int, n_types: int) -> go.Figure:
    """Where the cells come from: a body outline with the sampled tissue marked."""
    fig = go.Figure()
    for item in BODY:
        style = {"line": {"color": GREY, "width": 1.5}, "fillcolor": "#f2f2f2", "layer": "below"}
        if item[0] == "path":
            fig.add_shape(type="path", path=item[1], **style)
        else:
            kind, x0, y0, x1, y1 = item
            fig.add_shape(type=kind, x0=x0, y0=y0, x1=x1, y1=y1, **style)
    if region is not None:
        fig.add_trace(
            go.Scatter(
                x=[region["x"]],
                y=[region["y"]],
                mode="markers+text",
                marker={
                    "size": 26,
                    "color": VERMILION,
                    "opacity": 0.85,
                    "line": {"color": INK, "width": 1.5},
                },
                text=[region["tissue"]],
                textposition="middle right" if region["x"] <= 1.2 else "middle left",
                textfont={"size": 13, "color": INK},
                hovertemplate=f"sampled: {region['tissue']}<br>{n_cells:,} cells, {n_types} cell types<extra></extra>",
                name="sampled tissue",
            )
        )
    _layout(fig, "Where the cells were sampled", 420, showlegend=False)
    fig.update_xaxes(visible=False, range=[-3.2, 3.2], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.2, 10.1], scaleanchor="x", fixedrange=True)
    fig.update_layout(margin={"l": 10, "r": 10, "t": 48, "b": 10})
    return fig


def affected_figure(nodes: list[dict[str, Any]]) -> go.Figure:
    """How strongly each cell type is affected: its share of the disease signature."""
    order = sorted(nodes, key=lambda n: n["share"] or 0)
    fig = go.Figure(
        go.Bar(
            x=[100 * (n["share"] or 0) for n in order],
            y=[n["celltype"] for n in order],
            orientation="h",
            marker={"color": VERMILION},
            customdata=[[n["n_de"]] for n in order],
            hovertemplate="%{y}: %{x:.1f}% of the disease signature<br>%{customdata[0]} genes changed<extra></extra>",
            name="share",
        )
    )
    _layout(fig, "Which cell types are affected", 420)
    fig.update_xaxes(title="share of the disease signature (%)", gridcolor=LIGHT, rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return fig


#: events the model makes (not the patient's record): drawn open and grey
MODEL_EVENTS = {"onset", "threshold"}


def burden_figure(course: dict[str, Any], imaging: list[dict[str, Any]]) -> go.Figure:
    """The disease burden over time without a new drug, with its band; above it, a strip with one row
    per kind of event (the patient's in blue, the model's own — onset, threshold crossings — open and
    grey); the imaging course (lung involvement, right axis from 0) when there is one. Before day 0 the
    course is the model's reconstruction from an assumed onset (shaded)."""
    from plotly.subplots import make_subplots

    t = course["time"]
    s = course["series"]["untreated"]["burden"]
    events = [
        e for e in course["events"] if t[0] <= e["time"] <= t[-1] and not e["label"].startswith("start ")
    ]
    kinds = sorted({e["kind"] for e in events}, key=lambda k: (k in MODEL_EVENTS, k))
    strip = 0.06 * max(1, len(kinds)) if kinds else 0.0
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[strip, 1 - strip] if kinds else [0.001, 0.999],
        vertical_spacing=0.03,
        specs=[[{}], [{"secondary_y": bool(imaging)}]],
    )
    fig.add_trace(
        go.Scatter(
            x=t + t[::-1],
            y=s["upper"] + s["lower"][::-1],
            fill="toself",
            fillcolor="rgba(0,0,0,0.12)",
            line={"width": 0},
            hoverinfo="skip",
            name="95% band over twins",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=s["mean"],
            line={"color": INK, "width": 2.4},
            name="disease burden, without a new drug (model)",
            hovertemplate="day %{x:g}: burden %{y:.2f}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    for kind in kinds:
        ev = [e for e in events if e["kind"] == kind]
        model = kind in MODEL_EVENTS
        name = kind.replace("_", " ") + (" (model)" if model else "")
        fig.add_trace(
            go.Scatter(
                x=[e["time"] for e in ev],
                y=[name] * len(ev),
                mode="markers",
                marker={
                    "symbol": EVENT_SYMBOLS.get(kind, "circle")
                    + ("-open" if model and kind != "onset" else ""),
                    "size": 10,
                    "color": GREY if model else BLUE,
                },
                text=[e["label"] for e in ev],
                hovertemplate="day %{x:g}: %{text}<extra></extra>",
                name=name,
                showlegend=False,
            ),
            row=1,
            col=1,
        )
    fig.add_vrect(
        x0=t[0],
        x1=0,
        fillcolor="rgba(0,0,0,0.04)",
        line_width=0,
        layer="below",
        row=2,
        col=1,
        annotation_text="before sampling: reconstructed from an assumed onset",
        annotation_position="bottom left",
        annotation_font={"size": 11, "color": GREY},
    )
    if imaging:
        img = sorted(imaging, key=lambda r: r.get("day", 0))
        peak = max((r.get("involvement_pct") or 0) for r in img)
        fig.add_trace(
            go.Scatter(
                x=[r.get("day") for r in img],
                y=[r.get("involvement_pct") for r in img],
                mode="lines+markers",
                line={"color": GREEN, "dash": "dot", "width": 2},
                marker={"symbol": "square", "size": 9},
                text=[
                    f"{r.get('modality', 'imaging')} {r.get('date', '')}: ground-glass "
                    f"{r.get('ground_glass_pct', float('nan')):.1f}%, consolidation "
                    f"{r.get('consolidation_pct', float('nan')):.1f}%"
                    for r in img
                ],
                hovertemplate="%{text}<extra>imaging</extra>",
                name="imaging: lung involvement, % (right axis; another organ)",
            ),
            row=2,
            col=1,
            secondary_y=True,
        )
        fig.update_yaxes(
            title_text="lung involvement on CT (%)",
            range=[0, max(5.0, 2.0 * peak)],
            showgrid=False,
            row=2,
            col=1,
            secondary_y=True,
        )
    _layout(
        fig,
        "Disease burden over time (model), with the patient's events above",
        380 + 22 * len(kinds),
        legend={"orientation": "h", "y": -0.18, "yanchor": "top"},
        margin={"l": 150, "r": 70 if imaging else 20, "t": 48, "b": 110},
    )
    fig.update_xaxes(gridcolor=LIGHT, zeroline=False)
    fig.update_xaxes(title_text="days (0 = sampling)", row=2, col=1)
    fig.update_yaxes(gridcolor=LIGHT, row=1, col=1, tickfont={"size": 11}, autorange="reversed")
    fig.update_yaxes(
        title_text="disease burden", gridcolor=LIGHT, rangemode="tozero", row=2, col=1, secondary_y=False
    )
    return fig


def graph_figure(graph: dict[str, Any]) -> go.Figure:
    """The cell-type graph: nodes sized by their share of the disease signature, arrows by the
    ligand -> receptor coupling from sender to receiver (width ~ weight)."""
    nodes = graph["nodes"]
    n = len(nodes)
    pos = {
        node["celltype"]: (
            math.cos(math.pi / 2 - 2 * math.pi * i / n),
            math.sin(math.pi / 2 - 2 * math.pi * i / n),
        )
        for i, node in enumerate(nodes)
    }
    fig = go.Figure()
    w_max = max((e["weight"] for e in graph["edges"]), default=1.0) or 1.0
    mid_x, mid_y, mid_text = [], [], []
    strongest = sorted(graph["edges"], key=lambda e: -e["weight"])[: graph["shown"]]
    for e in strongest:
        (x0, y0), (x1, y1) = pos[e["source"]], pos[e["target"]]
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy) or 1.0
        ox, oy = -dy / length * 0.035, dx / length * 0.035  # both directions side by side
        shrink = 0.17 / length
        ax0, ay0 = x0 + dx * shrink + ox, y0 + dy * shrink + oy
        ax1, ay1 = x1 - dx * shrink + ox, y1 - dy * shrink + oy
        width = 0.6 + 5.0 * e["weight"] / w_max
        fig.add_annotation(
            x=ax1,
            y=ay1,
            ax=ax0,
            ay=ay0,
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowsize=0.7,
            arrowwidth=width,
            arrowcolor=f"rgba(0,114,178,{0.25 + 0.6 * e['weight'] / w_max:.2f})",
            text="",
        )
        mid_x.append((ax0 + ax1) / 2)
        mid_y.append((ay0 + ay1) / 2)
        mid_text.append(
            f"{e['source']} → {e['target']}<br>coupling {e['weight']:.3g} over {e['n_pairs']} "
            f"ligand–receptor pairs<br>strongest: {', '.join(e['top'])}"
        )
    fig.add_trace(
        go.Scatter(
            x=mid_x,
            y=mid_y,
            mode="markers",
            marker={"size": 10, "color": "rgba(0,0,0,0)"},
            text=mid_text,
            hovertemplate="%{text}<extra></extra>",
            name="signalling",
        )
    )
    share_max = max((node["share"] or 0 for node in nodes), default=1.0) or 1.0
    fig.add_trace(
        go.Scatter(
            x=[pos[node["celltype"]][0] for node in nodes],
            y=[pos[node["celltype"]][1] for node in nodes],
            mode="markers+text",
            marker={
                "size": [22 + 46 * (node["share"] or 0) / share_max for node in nodes],
                "color": [VERMILION] * n,
                "opacity": 0.9,
                "line": {"color": [INK] * n, "width": [1.5] * n},
            },
            text=[node["celltype"] for node in nodes],
            textposition=[
                "top center" if pos[node["celltype"]][1] >= 0 else "bottom center" for node in nodes
            ],
            customdata=[
                [
                    node["celltype"],
                    100 * (node["share"] or 0),
                    node["n_de"],
                    ", ".join(node["up"]) or "–",
                    ", ".join(node["down"]) or "–",
                ]
                for node in nodes
            ],
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>%{customdata[1]:.1f}% of the disease signature, "
                "%{customdata[2]} genes changed<br>up: %{customdata[3]}<br>down: %{customdata[4]}"
                "<br>click to filter the drugs<extra></extra>"
            ),
            name="cell types",
        )
    )
    _layout(fig, "Cell types and their signalling (click a cell type)", 470, showlegend=False)
    fig.update_xaxes(visible=False, range=[-1.6, 1.6])
    fig.update_yaxes(visible=False, range=[-1.4, 1.5], scaleanchor="x")
    return fig


def forest_figure(rows: list[dict[str, Any]], n: int, top_k: int) -> go.Figure:
    """The best ``n`` drugs: score with its 95% interval over twins, coloured by FDR (click a drug)."""
    sub = rows[:n][::-1]
    colour = [GREEN if (r["fdr"] is not None and r["fdr"] < 0.1) else GREY for r in sub]
    fig = go.Figure(
        go.Scatter(
            x=[r["score"] for r in sub],
            y=[f"{r.get('shown_rank', r['rank'])}. {r['drug']}" for r in sub],
            mode="markers",
            marker={
                "size": 10,
                "color": colour,
                "symbol": ["circle" if c == GREEN else "circle-open" for c in colour],
            },
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [r["ci"][1] - r["score"] for r in sub],
                "arrayminus": [r["score"] - r["ci"][0] for r in sub],
                "color": GREY,
                "thickness": 1.5,
            },
            customdata=[[r["drug"], r["ci"][0], r["ci"][1], r["fdr"], r["p_top"]] for r in sub],
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>score %{x:.3f} [%{customdata[1]:.3f}, %{customdata[2]:.3f}]"
                f"<br>FDR %{{customdata[3]:.3g}}, P(top {top_k}) %{{customdata[4]:.2f}}<extra></extra>"
            ),
            name="drugs",
        )
    )
    _layout(fig, f"Best {len(sub)} drugs: score and 95% interval (filled: FDR < 0.1)", 120 + 22 * len(sub))
    fig.update_xaxes(
        title="reversal score (−cosine to the disease signature)",
        gridcolor=LIGHT,
        zeroline=True,
        zerolinecolor=GREY,
        rangemode="tozero",
    )
    fig.update_yaxes(automargin=True, tickfont={"size": 12})
    return fig
