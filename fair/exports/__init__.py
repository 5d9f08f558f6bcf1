"""Exports of an edition's data as CSV and XLSX, streamed in constant memory, and their audit.

What can be exported (`EXPORTS`):

- `candidate_funnel`: one row per registered candidate with the funnel steps reached
  (`insight.candidate_steps`, the one definition of the steps), the EPCI of residence and the
  age band. Personal data although pseudonymous: no name, no e-mail, no priority-public answer
  (those are health and social data, counted only in aggregates); each candidate is a
  pseudonym stable within the edition (an HMAC of the edition and the account), so two exports
  can be compared but not joined with another edition's. Organisers only, audited.
- `edition_funnel` and `booth_funnel`: the dashboard's funnel and its table of booths, under
  the dashboard's filters, their figures about people hidden exactly as the page hides them
  (fair.insight, fair.disclosure). Not personal.
- `edition_events`: the edition as one row in France Travail's events shape (`EVENT_COLUMNS`,
  a superset of what MEE exports per event). Not personal.
- `booth_applications`: a booth's applications (candidate, e-mail, offer, status, dates) for
  the booth's recruiters. Personal, audited.

Rows are read in chunks (`CHUNK`) from a server-side cursor (`session.stream`): a source is an
async generator of batches and never holds more than one batch. The boundary opens its own read
session for the body, as the request's unit of work has ended by then; it checks the permission
and writes the audit record (`record`) in the request's unit of work, before streaming.
Personal exports only are recorded: the others hold counts a page shows anyway.

Formats:

- CSV: one flavour, for the people who open it: UTF-8 with a byte order mark, `;` between
  cells, CRLF line ends, quoted where needed. Excel in France opens it by double-click with
  its accents and columns right (it reads `,` files as one column); LibreOffice, pandas
  (`sep=";"`, `encoding="utf-8-sig"`) and Python's csv read it as well. XLSX is offered beside
  it for spreadsheets anyway.
- Formula injection: a text cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage
  return could be run as a formula by a spreadsheet (a candidate named `=HYPERLINK(...)`). In
  CSV such a cell gets a leading apostrophe (`'=…`), which spreadsheets show as text; numbers
  are written as numbers, so a count is never touched. In XLSX every text is written as a
  string cell (never `write()`, which would guess formulas), which a spreadsheet never runs:
  no apostrophe needed there.
- XLSX: XlsxWriter in `constant_memory` mode (each row flushed to disk as written) writes a
  temporary file in worker threads, batch by batch; the file is then streamed and deleted.

Modules, after the concept each holds:
- `kinds`: the kinds of export, the formats, the types of rows.
- `reading`: rows read in chunks (`stream`), moments as wall-clock times, hidden figures.
- `funnels`: the funnel per candidate (and its pseudonyms), of the edition, per booth.
- `pipeline`: a booth's applications. `event_row`: the edition in France Travail's shape.
- `formats`: the CSV and XLSX files. `audit`: permissions and the record of personal exports.

Import order inside the package (each imports only modules before it): `kinds` imports nothing
from the package; `reading` imports `kinds`; `funnels`, `pipeline` and `event_row` import
`kinds` and `reading`; `formats` and `audit` import `kinds`. Outside the package, import the
names below (`exports.candidate_rows(...)`).
"""

from fair.exports.audit import (
    AUDIT_PAGE,
    AuditLine,
    audit,
    authorise_booth,
    authorise_edition,
    record,
)
from fair.exports.event_row import (
    EVENT_COLUMNS,
    EVENT_STATES,
    PUBLICS,
    EventFigures,
    event_figures,
    event_row,
    event_rows,
)
from fair.exports.formats import (
    RISKY,
    Sheet,
    csv_chunks,
    csv_lines,
    encoder,
    neutral,
    text,
    xlsx_chunks,
)
from fair.exports.funnels import (
    BOOTH_COLUMNS,
    EDITION_STEPS,
    STEP_LABELS,
    age_band,
    booth_funnel_header,
    booth_funnel_rows,
    candidate_header,
    candidate_rows,
    edition_funnel_header,
    edition_funnel_rows,
    pseudonym,
    pseudonyms,
)
from fair.exports.kinds import (
    BOOTH_APPLICATIONS,
    BOOTH_FUNNEL,
    CANDIDATE_FUNNEL,
    CHUNK,
    EDITION_EVENTS,
    EDITION_FUNNEL,
    EXPORTS,
    FORMATS,
    MEDIA_TYPES,
    Batch,
    Batches,
    Cell,
    Export,
    Row,
    check_format,
    kind,
)
from fair.exports.pipeline import application_header, application_rows
from fair.exports.reading import local, shown, stream

__all__ = [
    "AUDIT_PAGE",
    "AuditLine",
    "audit",
    "authorise_booth",
    "authorise_edition",
    "record",
    "EVENT_COLUMNS",
    "EVENT_STATES",
    "PUBLICS",
    "EventFigures",
    "event_figures",
    "event_row",
    "event_rows",
    "RISKY",
    "Sheet",
    "csv_chunks",
    "csv_lines",
    "encoder",
    "neutral",
    "text",
    "xlsx_chunks",
    "BOOTH_COLUMNS",
    "EDITION_STEPS",
    "STEP_LABELS",
    "age_band",
    "booth_funnel_header",
    "booth_funnel_rows",
    "candidate_header",
    "candidate_rows",
    "edition_funnel_header",
    "edition_funnel_rows",
    "pseudonym",
    "pseudonyms",
    "BOOTH_APPLICATIONS",
    "BOOTH_FUNNEL",
    "CANDIDATE_FUNNEL",
    "CHUNK",
    "EDITION_EVENTS",
    "EDITION_FUNNEL",
    "EXPORTS",
    "FORMATS",
    "MEDIA_TYPES",
    "Batch",
    "Batches",
    "Cell",
    "Export",
    "Row",
    "check_format",
    "kind",
    "application_header",
    "application_rows",
    "local",
    "shown",
    "stream",
]
