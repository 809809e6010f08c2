"""FastPlot: a gr.Plot that serialises figures with `figures.to_json`, with plotly's toolbar.

plotly's own `to_json` deep-copies the figure first and was half of /inspect's server time.
Same JSON, same frontend (`is_template`: the browser uses gr.Plot's component).

The JSON also carries a plotly `config` (gr.Plot's frontend passes it to `Plotly.react`): the
toolbar shows on hover as usual and its camera button downloads a PNG at twice the on-screen
resolution (sharp on a projector or in a slide), named after the plot's elem_id.
"""

from __future__ import annotations

import json

import gradio as gr
import plotly.graph_objects as go
from gradio.components.plot import PlotData

from .. import figures

PNG_SCALE = 2


def plot_config(name: str | None) -> dict:
    """The plotly config every FastPlot sends: modebar kept, PNG download named after `name`."""
    filename = "transformer-playground" + (f"-{name}" if name else "")
    return {
        "displayModeBar": "hover",  # plotly's default: the toolbar appears over the plot on hover
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": PNG_SCALE},
    }


class FastPlot(gr.Plot):
    is_template = True

    def postprocess(self, value):
        if isinstance(value, go.Figure):
            spec = figures.to_json(value)  # a JSON object: add "config" without parsing it again
            config = json.dumps(plot_config(self.elem_id))
            return PlotData(type="plotly", plot=f'{spec[:-1]},"config":{config}}}')
        return super().postprocess(value)
