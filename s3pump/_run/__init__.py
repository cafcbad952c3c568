"""_run: see DESIGN.md section 4."""
