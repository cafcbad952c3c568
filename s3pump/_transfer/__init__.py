"""_transfer: see DESIGN.md section 4."""
