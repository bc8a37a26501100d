"""Views: parse, call a service or selector, render. One module per audience."""
