"""SATUSEHAT-compatible FHIR R4 export and submission (issue 11 §3, fhir-satusehat.md).

- ``codes``: the one data file of unverified codes and choices (``data/satusehat_codes.json``);
- ``mapping``: pure functions from plain row dicts to FHIR R4 resources (dicts);
- ``validation``: every resource checked against the R4 models of ``fhir.resources`` 6.4
  (FHIR 4.0.1) plus SATUSEHAT's UTC rule;
- ``reading``: the SQL (one query per resource type) that feeds the mapping;
- ``export``: NDJSON per resource type (FHIR Bulk Data shape), for the CLI and the endpoint;
- ``submit``, ``client``, ``models``: sending new and changed records to a SATUSEHAT server.
"""
