"""Figures from result tables (never from a live model): survival, hazard, uplift, revenue paths.

Every figure has labelled axes with units and shows its uncertainty (confidence
bands or intervals over replications). Figures are built with matplotlib's
object interface, so importing this module never changes the pyplot backend
(notebooks keep showing their own figures).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from sim.files import atomic_write


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    atomic_write(Path(path), lambda p: fig.savefig(p, dpi=110, format="png"))
    return Path(path)


def _figure(width: float, height: float):
    """A figure with one axes, not registered with pyplot (no backend side effects)."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def survival_curves(km: pd.DataFrame, path: Path, title: str) -> Path:
    """Kaplan-Meier curves with 95% bands; ``km`` has group, month, survival, lo, hi."""
    fig, ax = _figure(7, 4.5)
    for group, d in km.groupby("group", sort=False):
        line, = ax.step(d["month"], d["survival"], where="post", label=group)
        ax.fill_between(d["month"], d["lo"], d["hi"], step="post", alpha=0.2, color=line.get_color())
    ax.set(xlabel="firm age (months)", ylabel="share of firms still operating", ylim=(0, 1.02), title=title)
    for x, target in ((12, 0.64), (60, 0.30)):
        ax.plot([x], [target], marker="x", color="black", ls="none")
    ax.plot([], [], marker="x", color="black", ls="none", label="INEGI cohorts 1989-2009")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def hazard_by_age(hz: pd.DataFrame, path: Path) -> Path:
    """Exit hazard per firm-year by age band; ``hz`` has group, age_years, hazard, lo, hi."""
    fig, ax = _figure(7, 4.5)
    width = 0.8 / max(hz["group"].nunique(), 1)
    for k, (group, d) in enumerate(hz.groupby("group", sort=False)):
        x = d["age_years"].to_numpy() + (k - 0.5) * width
        ax.bar(x, d["hazard"], width=width, label=group, alpha=0.8,
               yerr=[d["hazard"] - d["lo"], d["hi"] - d["hazard"]], capsize=2)
    ax.set(xlabel="firm age (years completed)", ylabel="exits per firm-year at risk",
           title="Exit hazard by age (95% Poisson intervals)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def estimates_with_ci(est: pd.DataFrame, path: Path, title: str, xlabel: str) -> Path:
    """Point estimates with 95% CIs as horizontal bars; ``est`` has label, mean, lo, hi."""
    fig, ax = _figure(7, 0.6 * len(est) + 1.5)
    y = np.arange(len(est))
    ax.errorbar(est["mean"], y, xerr=[est["mean"] - est["lo"], est["hi"] - est["mean"]], fmt="o", capsize=4)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, est["label"])
    ax.invert_yaxis()
    ax.set(xlabel=xlabel, title=title)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def paths_with_band(paths: pd.DataFrame, path: Path, ylabel: str, title: str) -> Path:
    """Mean over replications per month with 95% band; ``paths`` has group, month, mean, lo, hi."""
    fig, ax = _figure(7, 4.5)
    for group, d in paths.groupby("group", sort=False):
        line, = ax.plot(d["month"], d["mean"], label=group)
        ax.fill_between(d["month"], d["lo"], d["hi"], alpha=0.2, color=line.get_color())
    ax.set(xlabel="model month", ylabel=ylabel, title=title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def heatmap(table: pd.DataFrame, x: str, y: str, value: str, path: Path, title: str,
            mark: pd.Series | None = None) -> Path:
    """A value over two swept parameters; cells where ``mark`` is True are outlined."""
    grid = table.pivot_table(index=y, columns=x, values=value, aggfunc="mean")
    fig, ax = _figure(6.5, 5)
    im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid.to_numpy()[i, j]
            ax.text(j, i, f"{v:.3f}" if np.isfinite(v) else "", ha="center", va="center", color="white", fontsize=8)
    if mark is not None:
        marked = table[mark.to_numpy()]
        for _, r in marked.iterrows():
            j = list(grid.columns).index(r[x])
            i = list(grid.index).index(r[y])
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    fig.colorbar(im, ax=ax, label=value)
    ax.set(xlabel=x, ylabel=y, title=title)
    return _save(fig, path)


def response_curves(table: pd.DataFrame, x: str, columns: list[str], path: Path, ylabel: str,
                    title: str) -> Path:
    """One line per column over the swept ``x``, with its 95% band where ``<col>_lo/_hi`` exist."""
    fig, ax = _figure(7, 4.5)
    data = table.sort_values(x)
    for col in columns:
        line, = ax.plot(data[x], data[col], marker="o", label=col)
        if f"{col}_lo" in data and f"{col}_hi" in data:
            ax.fill_between(data[x], data[f"{col}_lo"], data[f"{col}_hi"], alpha=0.2, color=line.get_color())
    ax.set(xlabel=x, ylabel=ylabel, title=title)
    if len(data) and float(np.nanmax(np.abs(data[x].astype(float)))) >= 1000:  # money: 1,000,000 not 1e6
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def cumulative_incidence(cif: pd.DataFrame, path: Path, title: str, band: tuple | None = None,
                         at: float | None = None, band_label: str = "") -> Path:
    """Cumulative incidence by cause with 95% bands; ``cif`` has group, month, mean, lo, hi.

    ``band`` (lo, hi) at month ``at`` is drawn as a vertical bar: the target range of the group named
    ``band_label``.
    """
    fig, ax = _figure(7, 4.5)
    for group, d in cif.groupby("group", sort=False):
        line, = ax.step(d["month"], d["mean"], where="post", label=group)
        ax.fill_between(d["month"], d["lo"], d["hi"], step="post", alpha=0.15, color=line.get_color())
    if band is not None and at is not None:
        ax.plot([at, at], band, color="black", lw=6, alpha=0.3, solid_capstyle="butt",
                label=f"target band: {band_label}")
    ax.set(xlabel="months since the alliance formed", ylabel="cumulative share of alliances ended",
           ylim=(0, 1), title=title)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def target_fit(fit: pd.DataFrame, per_seed: dict, path: Path, title: str) -> Path:
    """One panel per target: values per seed (dots), their mean with 95% CI, the band and the literature value.

    ``fit`` has target, statistic, model, ci_lo, ci_hi, band_lo, band_hi, value (NaN for none);
    ``per_seed`` maps a target to its per-seed values. Each panel has its own scale.
    """
    fig = Figure(figsize=(7, 1.3 * len(fit) + 0.8))
    axes = np.atleast_1d(fig.subplots(len(fit), 1, squeeze=False)[:, 0])
    for ax, r in zip(axes, fit.itertuples()):
        vals = np.asarray(per_seed.get(r.target, []), dtype=float)
        known = [v for v in (r.band_lo, r.band_hi, r.value, r.ci_lo, r.ci_hi, *vals) if np.isfinite(v)]
        span = (max(known) - min(known)) or 1.0
        lo = r.band_lo if np.isfinite(r.band_lo) else min(known) - span
        hi = r.band_hi if np.isfinite(r.band_hi) else max(known) + span
        ax.axvspan(lo, hi, color="tab:green", alpha=0.2, label="target band")
        ax.plot(vals, np.full(len(vals), 0.2), ".", color="grey", alpha=0.6, label="model, one seed")
        ax.errorbar([r.model], [0], xerr=[[r.model - r.ci_lo], [r.ci_hi - r.model]], fmt="o", color="tab:blue",
                    capsize=4, label="model mean, 95% CI")
        if np.isfinite(r.value):
            ax.plot([r.value], [0], "x", color="black", ms=9, label="literature value")
        ax.set_xlim(min(known) - 0.25 * span, max(known) + 0.25 * span)
        ax.set_ylim(-0.5, 0.5)
        ax.set_yticks([])
        ax.set_title(f"{r.target} ({r.statistic})", fontsize=9, loc="left")
        ax.grid(alpha=0.3, axis="x")
    axes[0].legend(frameon=False, fontsize=7, loc="upper right", ncol=2)
    fig.suptitle(title)
    return _save(fig, path)


def optimisation_history(numbers: list[int], losses: list[float], path: Path) -> Path:
    """Loss of every finished trial in the order run, and the best loss so far."""
    fig, ax = _figure(7, 4.5)
    loss = np.asarray(losses, dtype=float)
    ax.plot(numbers, loss, "o", alpha=0.6, label="trial")
    ax.step(numbers, np.minimum.accumulate(loss), where="post", color="black", label="best so far")
    if np.all(loss > 0) and loss.max() / loss.min() > 100:
        ax.set_yscale("log")
    ax.set(xlabel="trial", ylabel="calibration loss (sum of squared half-band distances)",
           title="Optimisation history")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def parameters_vs_loss(trials: pd.DataFrame, names: list[str], path: Path) -> Path:
    """One panel per free parameter: its value in each trial against the trial's loss (best trial marked)."""
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig = Figure(figsize=(3.3 * cols, 2.8 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    best = trials["loss"].idxmin()
    for ax, name in zip(axes, names):
        ax.plot(trials[name], trials["loss"], "o", alpha=0.6)
        ax.plot([trials.loc[best, name]], [trials.loc[best, "loss"]], "*", color="red", ms=12)
        if (trials["loss"] > 0).all() and trials["loss"].max() / trials["loss"].min() > 100:
            ax.set_yscale("log")
        ax.set(xlabel=name, ylabel="loss")
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Free parameters against the loss (red: best trial)")
    return _save(fig, path)


def sensitivity_indices(indices: pd.DataFrame, outcome: str, method: str, path: Path) -> Path:
    """Bar chart of one outcome's indices with their 95% bootstrap intervals."""
    d = indices[indices["outcome"] == outcome]
    fig = Figure(figsize=(7, 0.45 * len(d) + 1.6))
    ax = fig.subplots()
    y = np.arange(len(d))
    if method == "morris":
        ax.barh(y, d["mu_star"], xerr=d["mu_star_conf"], capsize=3, alpha=0.8, label="mu* (mean |effect|)")
        ax.plot(d["sigma"], y, "D", color="black", label="sigma (spread of effects)")
        ax.set_xlabel(f"elementary effect on {outcome} (its unit)")
    else:
        ax.barh(y - 0.2, d["S1"], height=0.4, xerr=d["S1_conf"], capsize=3, label="first order S1")
        ax.barh(y + 0.2, d["ST"], height=0.4, xerr=d["ST_conf"], capsize=3, label="total order ST")
        ax.set_xlabel(f"share of the variance of {outcome}")
    ax.set_yticks(y, d["factor"])
    ax.invert_yaxis()
    ax.set_title(f"{method.capitalize()} indices: {outcome} (95% bootstrap CI)")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)
