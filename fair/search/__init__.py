"""Full-text offer search in French, accents and plurals ignored, on SQLite and PostgreSQL.

SQLite: an FTS5 index over stems that Python computes with the Snowball French stemmer
(`stems`), kept in step by triggers. PostgreSQL: a generated tsvector under the `fair_french`
configuration (unaccent, then french_stem, the same Snowball algorithm) with a GIN index.
Both are created by the initial migration.

Modules, after the concept each holds:
- `cache`: the answers kept a short while per process, until the edition's offers change.
- `shapes`: the statements built once per shape (which filters, how many words…), their
  values bound per request.
- `stemming`: folding, stop words and stems (the indexable form of a text); a job's feminine
  typed searched as its masculine, whose stem finds the feminine's too (`gendered`).
- `match`: the SQL of widened words (synonyms, the same job's ROME codes, spelling) and why an
  offer matched (`Reason`); each stem's forms (a masculine's feminines) matched alike.
- `query`: the search's query, its checks, a hit and a page of them.
- `places`: distances in SQL, "within so many km", the communes the form suggests.
- `filters`: the edition's eligible offers, the filters, the query's stems, the sort used.
- `ranking`: the words matched and ranked, for the edition's offers and the partners'; each
  tier's newest matches alone scored (`Query.rank_bound`, fair.search.match).
- `hits`: a page's offers read with their employers.
- `best`: SQLite's best-first page, taken from the index's best matches.
- `pages`: `search` (a page of results, ranked and counted) and `listing` (the API's list).
- `params`: a search as parameters (query string, alert), both ways.
- `facets`: the filters' counts.
- `terms`: job seekers' words: synonyms, ROME jobs, spelling; `find` is the pages' search.
- `order`: PostgreSQL's narrow copy of the offers kept in ROME order (the worker's round); it
  imports nothing from the package.

Import order inside the package (each imports only modules before it): `cache`, `shapes`
and `stemming` import nothing from the package; `match` imports `shapes`, `stemming`; `query`
imports `match`; `places` imports `shapes`; `filters` imports `match`, `places`, `query`,
`shapes`; `ranking` imports `match`, `filters`, `places`, `query`, `shapes`; `hits` imports
`match`, `query`; `best` imports `match`, `filters`, `hits`, `query`, `ranking`, `shapes`;
`pages` imports `cache`, `best`, `filters`, `hits`, `match`, `places`, `query`, `ranking`,
`shapes`; `params` imports `query`; `facets` imports `cache`, `filters`, `pages`, `ranking`,
`places`, `query`, `shapes`, `stemming`; `terms` imports `cache`, `pages`, `stemming`,
`match`, `query`.
This `__init__` re-exports the names below (`search.search(...)`, `search.Query`); `params`,
`facets`, `terms`, `cache` and `match` are imported as modules (`from fair.search import
terms`): `terms` reaches fair.rome_text, which imports this package.
"""

from fair.search.pages import listing, search
from fair.search.places import km_from, near, territory_communes
from fair.search.query import (
    COUNT_CAP,
    MAX_PAGE,
    PER_PAGE,
    PUBLICS,
    RADII,
    RANK_BOUND,
    SORTS,
    Hit,
    Page,
    Query,
    check,
)
from fair.search.stemming import STOPWORDS, WORD_RE, fold, stem, stemmer, stems, words

__all__ = [
    "COUNT_CAP",
    "MAX_PAGE",
    "PER_PAGE",
    "PUBLICS",
    "RADII",
    "RANK_BOUND",
    "SORTS",
    "STOPWORDS",
    "WORD_RE",
    "Hit",
    "Page",
    "Query",
    "check",
    "fold",
    "km_from",
    "listing",
    "near",
    "search",
    "stem",
    "stemmer",
    "stems",
    "territory_communes",
    "words",
]
