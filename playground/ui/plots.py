"""FastPlot: a gr.Plot that serialises figures with `figures.to_json`.

plotly's own `to_json` deep-copies the figure first and was half of /inspect's server time.
Same JSON, same frontend (`is_template`: the browser uses gr.Plot's component).
"""

from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go
from gradio.components.plot import PlotData

from .. import figures


class FastPlot(gr.Plot):
    is_template = True

    def postprocess(self, value):
        if isinstance(value, go.Figure):
            return PlotData(type="plotly", plot=figures.to_json(value))
        return super().postprocess(value)
