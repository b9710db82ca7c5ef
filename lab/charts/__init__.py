"""Pure figure builders: arrays in, plotly figures or Vega-Lite specs out (unit-testable, no
Streamlit). One module per page; pages and lab/ use them as `charts.<name>`."""

from lab.charts.attention import (
    ATTENTION_COLORAXIS,
    ATTENTION_SCALE,
    attention_grid,
    attention_heatmap,
    token_focus_heatmap,
)
from lab.charts.common import PLAIN, loss_curve
from lab.charts.compare import ENCODING_COLORS, compare_curves, extrapolation_chart
from lab.charts.labels import file_label, markdown_literal, plotly_text, token_names, token_pill
from lab.charts.positional import (
    alibi_heatmap,
    alibi_lines,
    dimension_waves,
    position_heatmap,
    rope_angle_heatmap,
    rope_frequency_chart,
    rope_relative_chart,
    row_norms_chart,
    similarity_by_distance_chart,
    similarity_heatmap,
)
from lab.charts.training import TRAINING_COLORS, head_scores_over_training, training_panels

__all__ = [
    "ATTENTION_COLORAXIS",
    "ATTENTION_SCALE",
    "ENCODING_COLORS",
    "PLAIN",
    "TRAINING_COLORS",
    "alibi_heatmap",
    "alibi_lines",
    "attention_grid",
    "attention_heatmap",
    "compare_curves",
    "dimension_waves",
    "extrapolation_chart",
    "file_label",
    "head_scores_over_training",
    "loss_curve",
    "markdown_literal",
    "plotly_text",
    "position_heatmap",
    "rope_angle_heatmap",
    "rope_frequency_chart",
    "rope_relative_chart",
    "row_norms_chart",
    "similarity_by_distance_chart",
    "similarity_heatmap",
    "token_focus_heatmap",
    "token_names",
    "token_pill",
    "training_panels",
]
