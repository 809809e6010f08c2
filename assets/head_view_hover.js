() => {
  // Head view (Attention tab): hovering a token keeps only its lines, BertViz-style.
  // Left column = queries (its outgoing lines), right column = keys (its incoming lines).
  // Re-attached whenever Gradio draws a new figure into the plot.
  function linesOf(gd) {
    return gd._fullData.map((t, i) => ({i: t.index, t})).filter(({t}) => t.mode === "lines");
  }
  function attach(gd) {
    if (gd.__hoverFilterFor === gd.data) return;
    gd.__hoverFilterFor = gd.data;
    const original = linesOf(gd).map(({i, t}) => ({i, x: Array.from(t.x || []), y: Array.from(t.y || [])}));
    gd.on("plotly_hover", (ev) => {
      const pt = ev.points && ev.points[0];
      if (!pt || pt.data.name !== "tokens") return;
      const n = pt.fullData.x.length / 2, isQuery = pt.pointNumber < n, pos = pt.pointNumber % n;
      const xs = [], ys = [];
      for (const {x, y} of original) {
        const nx = [], ny = [];
        for (let s = 0; s + 1 < y.length; s += 3) {
          if ((isQuery && y[s] === pos) || (!isQuery && y[s + 1] === pos)) {
            nx.push(x[s], x[s + 1], null); ny.push(y[s], y[s + 1], null);
          }
        }
        xs.push(nx); ys.push(ny);
      }
      window.Plotly.restyle(gd, {x: xs, y: ys}, original.map((o) => o.i));
      gd.dataset.focus = String(pos);
    });
    gd.on("plotly_unhover", () => {
      window.Plotly.restyle(gd, {x: original.map((o) => o.x), y: original.map((o) => o.y)}, original.map((o) => o.i));
      delete gd.dataset.focus;
      gd.__hoverFilterFor = gd.data;
    });
  }
  setInterval(() => {
    if (!window.Plotly) return;
    document.querySelectorAll("#att-head-view .js-plotly-plot").forEach((gd) => { if (gd._fullData) attach(gd); });
  }, 500);
}
