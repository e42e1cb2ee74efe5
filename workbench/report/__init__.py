"""Reports anyone can open: a run or a model version as one self-contained HTML file, or Markdown.

Core only (no Textual); matplotlib is imported when a report is written, never at import.
"""

from workbench.report.write import ReportResult, default_report_path, write_report

__all__ = ["ReportResult", "default_report_path", "write_report"]
