"""Documents of a case as PDF: the receipt, the decision; one PDF helper (PDF/A-2b)."""
