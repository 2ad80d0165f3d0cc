"""Reports: figures aggregated in SQL, written as CSV, XLSX and PDF, built by jobs on the
``reports`` queue and sent by e-mail to subscribers once per period (docs/reports.md)."""
