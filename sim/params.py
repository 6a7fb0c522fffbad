"""Typed parameter schema: every default, unit and allowed range, held once.

The dataclasses below (with the alliance lifecycle's, ``sim.alliance_params``, and
fields built by ``sim.schema.param``) are registered in Hydra's ConfigStore as ``base_config``;
the YAML files under ``configs/`` only override them. Each field carries
metadata (unit, allowed range, one-line meaning) that ``sim.validation`` checks
before a run starts and that ``docs/ODD.md`` lists. Sources for the defaults
are given in ``docs/ODD.md`` (section 7, Submodels). This module holds the
schema only: it imports no policy or experiment module, so every module of the
model can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from sim.alliance_params import AlliancesConfig
from sim.schema import param


@dataclass
class FirmsConfig:
    """Initial population and firm-level distributions (model brief section 1)."""

    n_firms: int = param(2000, 1, 10_000_000, "firms", "initial number of firms")
    initial_population: str = param("cohort", choices=("cohort", "stock"),
                                     doc="cohort: all firms founded at month 0 (INEGI follows birth "
                                         "cohorts); stock: survivors of a simulated pre-history (mixed ages)")
    stock_sample_firms: int = param(20_000, 100, 10_000_000, "firms",
                                    "a stock larger than this is resampled from the survivors of a pre-history "
                                    "of this many firms, so seating a national stock costs no more than this")
    stock_burn_in_months: int = param(240, 12, 2400, "months",
                                      "length of the pre-history that ages a mixed-age stock")
    sector_names: list = param(["commerce", "services", "manufacturing"], item_type=str,
                               doc="sector labels; their number sets the number of sectors")
    sector_shares: list = param([0.47, 0.41, 0.12], item_lo=0.0, item_hi=1.0, unit="share", item_type=float,
                                doc="share of firms per sector, same order as sector_names")
    founding_mean_persons: float = param(2.2, 1.0, 6.0, "persons",
                                         "mean persons employed at founding, owner included (INEGI Censos "
                                         "Economicos 2024: 2.2 per micro establishment); workers besides the "
                                         "owner are min(10, geometric) with this mean")
    median_revenue_solo: float = param(18_000.0, 1, 1e7, "currency/month",
                                       "median monthly revenue of a firm with no employees")
    revenue_size_elasticity: float = param(0.6, 0, 3, "", "revenue ~ (1 + workers)^elasticity")
    sd_log_revenue: float = param(0.7, 0, 3, "log units", "spread of the lognormal revenue draw")
    max_yearly_sales: float = param(4_000_000.0, 1, 1e10, "currency/year",
                                    "micro-firm sales ceiling (INEGI stratification)")
    sector_input_cost_share: list = param([0.69, 0.40, 0.55], item_lo=0.0, item_hi=0.95, unit="share of revenue",
                                          item_type=float,
                                          doc="mean variable (input) cost as a share of revenue, per sector "
                                              "(commerce: goods for resale, Censos Economicos 2019)")
    sector_margin_shift: list = param([-0.005, 0.01, 0.025], item_lo=-1.0, item_hi=1.0, unit="share of revenue",
                                      item_type=float,
                                      doc="added to mean_margin per sector (calibrated to INEGI survival by sector)")
    sector_volatility_factor: list = param([1.1, 0.85, 0.8], item_lo=0.0, item_hi=5.0, unit="multiplier",
                                           item_type=float,
                                           doc="multiplies median_volatility per sector (calibrated to INEGI "
                                               "survival by sector)")
    sd_input_cost_share: float = param(0.08, 0, 0.5, "share of revenue", "spread of input cost share")
    mean_margin: float = param(0.03, -1, 1, "share of revenue",
                               "mean expected operating margin at launch (calibration lever)")
    sd_margin: float = param(0.075, 0, 1, "share of revenue",
                             "spread of expected operating margins (calibration lever)")
    median_initial_cash_months: float = param(3.1, 0, 120, "months of fixed cost",
                                              "median start-up cash buffer (calibration lever)")
    sd_log_initial_cash: float = param(0.6, 0, 3, "log units", "spread of the start-up cash buffer")
    p_closure: float = param(0.0022, 0, 1, "probability/month",
                             "closure for the owner's reasons (retires, falls ill, moves) at owner age 45; "
                             "doubles every owner_hazard_doubling_years")
    owner_hazard_doubling_years: float = param(8.7, 1.0, 1000.0, "years",
                                               "the owner's closure hazard doubles this often with age (Gompertz)")
    mean_owner_age: float = param(40.0, 18, 80, "years", "mean age of the owner at founding")
    sd_owner_age: float = param(10.0, 0, 30, "years", "spread of the owner's age at founding (18-75)")
    quality_sd: float = param(0.35, 0, 2, "log units",
                              "spread of true log efficiency, unknown to the founder (Jovanovic learning)")
    learning_option_sd: float = param(1.0, 0, 10, "posterior sd",
                                      "a firm quits as unviable when its belief this many sd above the mean "
                                      "cannot cover its costs (option value of learning)")
    cash_target_months: float = param(2.0, 0, 120, "months of fixed cost",
                                      "cash above this buffer is drawn by the owner (calibration lever)")
    capital_elasticity: float = param(0.3, 0, 0.9, "elasticity",
                                      "revenue ~ capital^elasticity (diminishing returns; chosen so that a grant "
                                      "returns about 20%/month to the smallest firms, McKenzie and Woodruff 2008, "
                                      "and about 5%/month to larger ones, de Mel, McKenzie and Woodruff 2008)")
    median_capital_months: float = param(0.6, 0.01, 120, "months of revenue",
                                         "median founding capital (equipment, stock of goods)")
    sd_log_capital: float = param(0.8, 0, 3, "log units", "spread of founding capital")
    owner_cost_of_funds_monthly: float = param(0.10, 0, 1, "share/month",
                                               "return an owner asks of money kept in the business "
                                               "instead of drawn (no credit: informal rates)")
    capital_upkeep_monthly: float = param(0.01, 0, 1, "share/month",
                                          "upkeep of capital bought after founding, added to the fixed cost")
    share_surplus_reinvested: float = param(0.1, 0, 1, "share",
                                            "share of the cash surplus above the buffer that the owner puts "
                                            "into capital while it earns more than its cost of funds")
    median_volatility: float = param(0.30, 0, 3, "log units/month", "median idiosyncratic volatility")
    sd_log_volatility: float = param(0.3, 0, 3, "log units", "spread of idiosyncratic volatility")
    shock_persistence: float = param(0.85, 0, 0.999, "AR(1) coefficient/month",
                                     "persistence of a firm's own revenue shock")
    mean_sector_exposure: float = param(1.0, 0, 5, "elasticity", "mean exposure to sector demand")
    sd_sector_exposure: float = param(0.3, 0, 5, "elasticity", "spread of sector exposure")
    capability_a: float = param(2.0, 0.01, 100, "", "Beta(a, b) alliance-management capability")
    capability_b: float = param(5.0, 0.01, 100, "", "Beta(a, b) alliance-management capability")
    cooperativeness_a: float = param(5.0, 0.01, 100, "", "Beta(a, b) propensity to cooperate")
    cooperativeness_b: float = param(2.0, 0.01, 100, "", "Beta(a, b) propensity to cooperate")
    share_planned: float = param(0.3, 0, 1, "share", "share of firms with a planned alliance approach")
    resource_a: float = param(2.0, 0.01, 100, "", "Beta(a, b) endowment on each resource dimension")
    resource_b: float = param(2.0, 0.01, 100, "", "Beta(a, b) endowment on each resource dimension")


@dataclass
class BirthsConfig:
    """Entry of new firms (open population)."""

    rate_monthly: float = param(0.01, 0, 1, "share of initial firms/month",
                                "expected births per month as a share of the initial population")


@dataclass
class CrisisConfig:
    """A sharp, temporary fall in demand (pandemic-like), switchable."""

    enabled: bool = param(False, doc="switch the crisis on")
    start_month: int = param(36, 0, 100_000, "month", "first month of the fall")
    duration_months: int = param(6, 1, 1200, "months", "months at full depth")
    recovery_months: int = param(12, 0, 1200, "months", "linear recovery after the trough")
    depth: float = param(0.31, 0, 0.99, "share of demand",
                         "fall in demand at the trough (calibrated: 21% of a mixed-age stock dies in 17 months)")


@dataclass
class CompetitionConfig:
    """Large-firm competition eroding part of some sectors' demand, switchable."""

    enabled: bool = param(False, doc="switch large-firm competition on")
    start_month: int = param(24, 0, 100_000, "month", "month the large competitor enters")
    ramp_months: int = param(12, 0, 1200, "months", "months until the full share is taken")
    share_taken: float = param(0.15, 0, 1, "share of demand", "share of sector demand taken")
    sectors: list = param([], item_lo=0, item_hi=1000, unit="sector index", item_type=int,
                          doc="affected sector indices; empty means all sectors")


@dataclass
class MarketConfig:
    """Sector demand with persistent common shocks (model brief section 2)."""

    demand_persistence: float = param(0.9, 0, 0.999, "AR(1) coefficient/month",
                                      "persistence of log sector demand")
    demand_volatility: float = param(0.02, 0, 1, "log units/month", "sd of monthly demand innovations")
    share_common_shock: float = param(0.5, 0, 1, "share of variance",
                                      "share of demand innovation common to all sectors")
    sector_demand_growth: list = param([0.0, 0.0, 0.0], item_lo=-0.5, item_hi=0.5, unit="share/year",
                                       item_type=float,
                                       doc="trend growth of each sector's demand (same order as firms.sector_names)")
    localities: int = param(10, 1, 100_000, "localities",
                            "localities per sector market; each sector x locality is one market whose customers "
                            "its firms share (1: one national market per sector)")
    zipf_exponent: float = param(1.0, 0, 3, "",
                                 "locality sizes follow Zipf's law: share of firms ~ rank^-exponent (Gabaix 1999)")
    competition_intensity: float = param(0.3, 0, 0.99, "elasticity",
                                         "elasticity of a firm's sales to its rivals' total offer in its market at "
                                         "the reference state (0: firms never compete)")
    price_elasticity: float = param(2.0, 1.0, 10.0, "elasticity",
                                    "customers' response to a firm's price within its market")
    pass_through: float = param(0.5, 0, 1, "share",
                                "share of an input-cost saving (cluster purchasing) passed into a lower price")
    crisis: CrisisConfig = field(default_factory=CrisisConfig)
    competition: CompetitionConfig = field(default_factory=CompetitionConfig)


@dataclass
class OutputConfig:
    """What a run writes and where."""

    panel_every_months: int = param(12, 0, 100_000, "months",
                                    "firm panel snapshot frequency; 0 turns the panel off")
    write_files: bool = param(True, doc="write the run folder (tables, summary, manifest)")
    root: str = param("results", doc="results root: runs go to <root>/runs/, sweeps to <root>/sweeps/")


@dataclass
class EligibilityConfig:
    """Who may receive an instrument (all conditions must hold)."""

    min_workers: int = param(0, 0, 10, "workers", "smallest eligible firm")
    max_workers: int = param(10, 0, 10, "workers", "largest eligible firm")
    sectors: list = param([], item_lo=0, item_hi=1000, unit="sector index", item_type=int,
                          doc="eligible sectors; empty = all")
    min_age_months: int = param(0, 0, 100_000, "months", "youngest eligible firm")
    max_age_months: int = param(100_000, 0, 100_000, "months", "oldest eligible firm")
    allied: str = param("any", choices=("any", "allied", "unallied"), doc="alliance status required")
    share: float = param(1.0, 0, 1, "share", "share of firms drawn at random (policy's own stream) to be eligible")
    min_capability: float = param(0.0, 0, 1, "0-1", "least alliance-management capability of an eligible firm")
    max_capability: float = param(1.0, 0, 1, "0-1", "greatest alliance-management capability of an eligible firm")


#: What a policy window's months count from.
WINDOW_ORIGINS = ("run_start", "crisis_onset")


@dataclass
class PolicyConfig:
    """One instrument in the run: kind, window, budget, eligibility and its own parameters."""

    kind: str = param("formation_grant", kinds="instrument", doc="instrument kind (see sim.policies.REGISTRY)")
    start_month: int = param(12, 0, 100_000, "month", "first month of the window [start, stop)")
    stop_month: int = param(72, 0, 100_000, "month", "first month after the window")
    window_from: str = param("run_start", choices=WINDOW_ORIGINS,
                             doc="run_start: the window's months count from the start of the run; crisis_onset: "
                                 "from the crisis onset (market.crisis.start_month), so [0, 12) is the crisis' "
                                 "first year")
    budget: float = param(1_000_000.0, 0, 1e13, "currency", "hard cap on total payments")
    eligibility: EligibilityConfig = field(default_factory=EligibilityConfig)
    params: dict = field(default_factory=dict, metadata={"doc": "instrument parameters (its Params schema)"})


@dataclass
class SubmititConfig:
    """Replications sent as jobs through submitit (``experiment.executor=submitit``)."""

    cluster: str = param("auto", choices=("auto", "slurm", "local", "debug"),
                         doc="auto: Slurm where sbatch exists, else local processes; debug runs in this process")
    replications_per_job: int = param(20, 1, 100_000, "replications",
                                      "replications (seed x arm) run one after another in one job")
    partition: str = param("", doc="Slurm partition (sbatch --partition); empty uses the cluster's default")
    timeout_min: int = param(60, 1, 100_000, "minutes", "wall-clock limit of one job (sbatch --time)")
    mem_gb: float = param(2.0, 0.1, 10_000, "GB", "memory of one job (sbatch --mem)")
    cpus_per_task: int = param(1, 1, 1024, "cores", "cores of one job")
    array_parallelism: int = param(64, 1, 100_000, "jobs", "jobs of the array running at once")
    folder: str = param("", doc="submitit's logs and pickled jobs; empty: <results>/submitit/<job id>")


EXECUTORS = ("processes", "submitit")


@dataclass
class ExperimentConfig:
    """Which experiment the entry point runs, and its replication design."""

    kind: str = param("single", kinds="experiment", doc="experiment to run")
    name: str = param("single", doc="label used in the run folder name (one folder name: letters, digits, "
                                    "'.', '-', '_')")
    n_seeds: int = param(30, 1, 100_000, "replications",
                         "paired replications; seeds are seed, seed+1, ..., seed+n_seeds-1")
    workers: int = param(0, 0, 1024, "processes", "parallel worker processes; 0 uses every core")
    progress: bool = param(True, doc="show a progress bar")
    per_firm: bool = param(False, doc="record every firm's monthly revenue and alliance in each arm, for "
                                      "per-firm counterfactuals (uplift: effect on the allied)")
    executor: str = param("processes", choices=EXECUTORS,
                          doc="where replications run: processes (experiment.workers local processes) or "
                              "submitit (jobs on Slurm or local, experiment.submitit.*)")
    submitit: SubmititConfig = field(default_factory=SubmititConfig)
    target_uplift: float = param(0.20, -1, 10, "share", "uplift threshold of the frontier (001: up to 20%)")
    grid: list = param([], item_type=str, doc="uplift_frontier: sweeps in Hydra's syntax, one 'path=v1,v2,...' per "
                               "parameter; every combination is run")
    lever_step: float = param(0.5, 0, 10, "share",
                              "compatibility_vs_contracts: relative increase applied to each lever")
    instruments: list = param([], item_type=str, kinds="instrument",
                              doc="policy_compare: instrument kinds compared (used when no policies are configured); "
                                  "empty means every instrument of sim.policies.REGISTRY")
    budget: float = param(1_000_000.0, 0, 1e13, "currency", "policy_compare: equal budget of every instrument")
    policy_start_month: int = param(12, 0, 100_000, "month", "policy_compare: window start")
    policy_stop_month: int = param(72, 1, 100_000, "month", "policy_compare: window stop (exclusive)")
    policy_window_from: str = param("run_start", choices=WINDOW_ORIGINS,
                                    doc="policy_compare: what the window's months count from (crisis_onset: "
                                        "months after the crisis onset)")
    arms: list = param([], doc="policy_compare: arms as lists of instruments (kinds, or names of configured "
                                "policies), e.g. [[credit],[training],[credit,training]]; an arm of several is a "
                                "package; empty means one arm per instrument")
    budget_mode: str = param("equal_cap", choices=("equal_cap", "equal_spend"),
                             doc="policy_compare: equal_cap gives every instrument the same budget cap; equal_spend "
                                 "scales each instrument's generosity down so that all spend about the same")
    spend_target: float = param(0.0, 0, 1e13, "currency",
                                "policy_compare, equal_spend: what every instrument should spend; 0 means the least "
                                "that any instrument spends at the equal cap")
    spend_tolerance: float = param(0.02, 0.001, 0.5, "share",
                                   "policy_compare, equal_spend: relative gap to the target spending accepted")
    budget_curve: list = param([], item_lo=0, item_hi=1e13, unit="currency", item_type=float,
                               doc="policy_compare, equal cap: further budgets at which every arm runs on the same "
                                   "seeds; the brief draws extra firm-years against the budget with 95% bands; "
                                   "empty draws none")
    max_seeds: int = param(0, 0, 100_000, "replications",
                           "policy_compare: with more than n_seeds, add seeds_step seeds at a time until every pair "
                           "of arms is resolved or max_seeds ran; 0 runs n_seeds only")
    seeds_step: int = param(10, 1, 100_000, "replications", "policy_compare: seeds added per round of replications")
    target_half_width: float = param(0.0, 0, 1e9, "firm-years per million currency",
                                     "policy_compare: a pair of arms whose paired-difference CI is this narrow is "
                                     "resolved even if it includes zero; 0: only separation resolves")
    targets: list = param([], doc="validate, calibrate: names of targets under configs/targets/; empty means "
                                  "every target (validate) or every calibration target (calibrate)")
    exploratory: str = param("default", doc="calibrate, sensitivity: configs/exploratory/<name>.yaml, where "
                                            "uncertainties, levers and outcomes are declared")
    free_parameters: list = param([], doc="calibrate: uncertainties fitted (names from the exploratory file); "
                                          "empty means every uncertainty marked calibrate: true")
    n_trials: int = param(40, 1, 100_000, "trials", "calibrate: trials of the study in all, counting resumed ones")
    resume: str = param("", doc="calibrate: run folder of an earlier calibration whose study.db is continued")
    write_config: str = param("", doc="calibrate: write the best parameters to configs/calibrated/<name>.yaml "
                                      "(use as calibrated=<name>); empty writes none")
    robustness_experiment: str = param("none", choices=("none", "uplift", "policy_compare"),
                                       doc="calibrate: rerun this experiment at the best top_k trials")
    top_k: int = param(5, 1, 1000, "trials", "calibrate: best trials the robustness experiment reruns")
    robustness_seeds: int = param(10, 1, 100_000, "replications", "calibrate: seeds of each robustness rerun")
    method: str = param("morris", choices=("morris", "sobol"), doc="sensitivity: Morris screening or Sobol indices")
    n_samples: int = param(10, 1, 1_000_000, "samples",
                           "sensitivity: Morris trajectories, or Sobol base sample (a power of 2)")
    uncertainties: list = param([], doc="sensitivity: names of the uncertainties varied; empty means all")
    instrument: str = param("training", choices=("none",), kinds="instrument",
                            doc="sensitivity: instrument whose cost per extra firm-year is an outcome; none skips it")
    n_bootstrap: int = param(1000, 10, 1_000_000, "resamples", "sensitivity: bootstrap resamples of the indices")


@dataclass
class Config:
    """Top-level configuration of one run."""

    seed: int = param(0, 0, 2**63 - 1, "", "root seed of every random stream")
    months: int = param(120, 1, 100_000, "months", "simulated horizon")
    currency: str = param("MXN", doc="currency of every money value")
    firms: FirmsConfig = field(default_factory=FirmsConfig)
    births: BirthsConfig = field(default_factory=BirthsConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    alliances: AlliancesConfig = field(default_factory=AlliancesConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    policies: dict = field(default_factory=dict, metadata={
        "doc": "policy instruments by name, each a PolicyConfig (configs/policy/); empty means no policy"})


def register_schema() -> None:
    """Register the schema with Hydra's ConfigStore, once per process (later calls do nothing).

    ``policy/_policy_base`` types every policy file's node as a ``PolicyConfig`` so
    command-line overrides of its fields (eligibility, window...) are checked. Storing
    converts the dataclasses to config nodes (about 60 ms, a quarter of composing a
    config), and the store hands out a copy of a node at each load, so once is enough.
    """
    cs = ConfigStore.instance()
    if "base_config.yaml" in cs.repo and "_policy_base.yaml" in cs.repo.get("policy", {}):
        return
    cs.store(name="base_config", node=Config)
    cs.store(group="policy", name="_policy_base", node=PolicyConfig)
