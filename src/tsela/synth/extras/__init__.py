"""What a synthetic population needs around it to look like a working system: employers,
permits with a history, applications waiting at the permit desk, and watchlists.

Everything goes through the services a real office uses (``register_employer``, ``apply``,
``submit``, ``decide``, ``issue_many``, ``end_employment``, ``expire_due``, ``renew``,
``import_watchlist``), with the dates set in the past where the history is in the past, so
every rule of a permit type is checked as it would be at the counter:

- **employers**: forty fictional employers where Basotho work (``reference/
  synthetic_employers.csv``): gold and platinum mines, eastern Free State farms,
  construction, domestic work, retail, security, manufacturing, hospitality;
- **work permits**: older migrant workers with a permit hold a Lesotho Exemption Permit
  (LEP), which needs an earlier Lesotho Special Permit (LSP): they applied for the LSP in
  2016, it expired at the end of 2019, and they applied for the LEP between 2020 and the
  closing date, most of them naming their employer. Younger ones, and some older farm
  workers, hold a seasonal farm-work permit for a farm, renewed every season with the same
  farm back to the first crossings;
- **other permits**: every student a study permit (renewed every year), some traders a
  business permit, some commuters a frequent-crosser card; issue dates are spread so that
  some permits expire within 30, 60 and 90 days and a few have just expired;
- **a few revoked** (with the reason), one or two suspended, a few employments reported
  ended by the employer;
- **about twenty pending applications**: seasonal permits sent by farms, cards and business
  permits sent by the applicants, renewals of study permits about to expire; one waits for
  evidence the permit officer asked for;
- **watchlists**: "SAPS wanted persons", "Counter-trafficking: persons to protect" and a
  lost-and-stolen document list, each with fictional entries and a handful of the synthetic
  travellers, some spelt in the other Sesotho orthography, so that some checks at the
  border give a hit.

Choices come from one seeded generator (same seed, same choices). Permit numbers, keys and
record ids are random, as they are in use. Each part is added only if it is missing, so
running it again adds nothing.

- ``common``: names, sizes and the error shared by the parts;
- ``employers``: the fictional employers;
- ``permit_plan``: who gets what, when (pure);
- ``writing``: the plan written through the services;
- ``watchlists``: the three lists;
- ``assemble``: ``add_extras``, the whole;
- ``in_store``: existing stores, demo links, border samples.
"""

from tsela.synth.extras.assemble import add_extras
from tsela.synth.extras.common import (
    ACTOR_NAME,
    DOCUMENT_LIST,
    MAX_HOLDERS,
    PENDING,
    PROTECT_LIST,
    SOURCE,
    WANTED_LIST,
    Advance,
    ExtrasError,
    ProgressFactory,
    S,
)
from tsela.synth.extras.employers import SyntheticEmployer, synthetic_employers
from tsela.synth.extras.in_store import (
    BorderSample,
    DemoLinks,
    border_samples,
    demo_links,
    has_extras,
    population_in_store,
)
from tsela.synth.extras.permit_plan import (
    BUSINESS_SHARE,
    ENDED_REASONS,
    ENDED_SHARE,
    EVIDENCE_REQUEST,
    FCC_SHARE,
    INSTITUTIONS,
    LEP_FIRST,
    LEP_MIN_AGE,
    LEP_SECTORS,
    LEP_WITHOUT_EMPLOYER,
    LSP_CLOSE,
    LSP_OPEN,
    LSP_RECORDED_EXPIRED,
    RENEWED_TYPES,
    REVOKE_REASON_BUSINESS,
    REVOKE_REASONS,
    REVOKE_REASONS_EMPLOYED,
    REVOKED_SHARE,
    SEASONAL_SHARE_OF_OLDER,
    SUSPEND_REASON,
    SUSPENDED_SHARE,
    Grant,
    Pending,
    PermitPlan,
    plan_permits,
)
from tsela.synth.extras.watchlists import (
    CITIES,
    DISTRICTS,
    PROTECT_REASONS,
    STATIONS,
    WANTED_REASONS,
    WatchlistPlan,
    plan_watchlists,
)
from tsela.synth.extras.writing import ExtrasSummary

__all__ = [
    "ACTOR_NAME",
    "BUSINESS_SHARE",
    "CITIES",
    "DISTRICTS",
    "DOCUMENT_LIST",
    "ENDED_REASONS",
    "ENDED_SHARE",
    "EVIDENCE_REQUEST",
    "FCC_SHARE",
    "INSTITUTIONS",
    "LEP_FIRST",
    "LEP_MIN_AGE",
    "LEP_SECTORS",
    "LEP_WITHOUT_EMPLOYER",
    "LSP_CLOSE",
    "LSP_OPEN",
    "LSP_RECORDED_EXPIRED",
    "MAX_HOLDERS",
    "PENDING",
    "PROTECT_LIST",
    "PROTECT_REASONS",
    "RENEWED_TYPES",
    "REVOKED_SHARE",
    "REVOKE_REASONS",
    "REVOKE_REASONS_EMPLOYED",
    "REVOKE_REASON_BUSINESS",
    "SEASONAL_SHARE_OF_OLDER",
    "SOURCE",
    "STATIONS",
    "SUSPENDED_SHARE",
    "SUSPEND_REASON",
    "WANTED_LIST",
    "WANTED_REASONS",
    "Advance",
    "BorderSample",
    "DemoLinks",
    "ExtrasError",
    "ExtrasSummary",
    "Grant",
    "Pending",
    "PermitPlan",
    "ProgressFactory",
    "S",
    "SyntheticEmployer",
    "WatchlistPlan",
    "add_extras",
    "border_samples",
    "demo_links",
    "has_extras",
    "plan_permits",
    "plan_watchlists",
    "population_in_store",
    "synthetic_employers",
]
