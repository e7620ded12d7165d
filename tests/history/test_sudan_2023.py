"""Sudan 2023 against the record: scenarios/sudan_2023.yaml and its what-ifs.

Each test runs the scenario over the same ``SEEDS`` (common random numbers) and compares the
mean across them with a published figure from ../shared/data/sudan_2023.md. Each docstring
names the source and says why the tolerance is what it is (how sure the figure is, and
whether the number was an input: a figure the scenario was built from is checked as an
input, not claimed as a success). A test marked ``xfail(strict=True)`` is a known miss of
the model, stated with the figures measured when it was written; it fails the suite the day
the model gets it right, so that the mark is removed and the README note updated.

Times are local (Sudan, UTC+2), as in the scenario.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evacsim

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SEEDS = range(6)


@cache
def runs(name: str) -> tuple[evacsim.RunResult, ...]:
    """The scenario ``name`` run once per seed of ``SEEDS`` (records off: tables suffice)."""
    scenario = evacsim.load_scenario(SCENARIOS / f"{name}.yaml")
    return tuple(evacsim.simulate(scenario, seed=s, keep_records=False) for s in SEEDS)


def departed(name: str = "sudan_2023") -> list[pd.DataFrame]:
    """Each seed's departed flights, in order of departure."""
    return [
        r.flights[r.flights["status"] == "departed"].sort_values("t_depart") for r in runs(name)
    ]


def by_operator(operator: str, name: str = "sudan_2023") -> list[pd.DataFrame]:
    return [f[f["operator"] == operator] for f in departed(name)]


def mean_people(operator: str, name: str = "sudan_2023", before: str | None = None) -> float:
    """Mean over seeds of the people flown out by ``operator`` (departed before ``before``)."""
    totals = []
    for f in by_operator(operator, name):
        if before is not None:
            f = f[f["departed"] < pd.Timestamp(before)]
        totals.append(f["boarded"].sum())
    return float(np.mean(totals))


def mean_flights(operator: str, name: str = "sudan_2023") -> float:
    return float(np.mean([len(f) for f in by_operator(operator, name)]))


def within(value: float, target: float, share: float) -> bool:
    return abs(value - target) <= share * target


# ------------------------------------------------------------------------ United Kingdom


def test_uk_total_from_wadi_saeedna():
    """2,122 people on 23 flights from WS by 30 Apr [src: FCDO statement via dabangasudan,
    forces.net, Independent 1 May], the UK's aggregate target. Tolerance 15% on people (an
    official count, but the model's pools of who reached the field are derived from
    end-state counts and the others' arrival rates are assumptions) and 3 flights (the count
    is 23 in one version, the UK's whole count 30 or 29 in others). The sorties come out of
    the UK fleet's cycle (its size derived from the 25-26 Apr series, its block time
    assumed), so the count is earned, not given."""
    assert within(mean_people("uk"), 2122, 0.15), mean_people("uk")
    assert abs(mean_flights("uk") - 23) <= 3, mean_flights("uk")


def test_uk_last_flight_with_evacuees():
    """The last UK flight left WS at 22:00 on 29 Apr; it was scheduled for 18:00
    [src: FCDO travel advice, Independent 30 Apr]. Arrivals stopped at 12:00 that day
    [src: AFP 28 Apr], an input. The model's last UK departure with anyone aboard must fall
    between 12:00 (the arrival deadline) and midnight, in every seed."""
    for f in by_operator("uk"):
        last = f[f["boarded"] > 0]["departed"].max()
        assert pd.Timestamp("2023-04-29T12:00") <= last < pd.Timestamp("2023-04-30T00:00"), last


def test_uk_first_flights_not_full():
    """The first UK flight carried 39 [src: BBC via cyprus-mail 26 Apr]; two on 26 Apr
    carried 80 and 74 [src: Reuters via in-cyprus 26 Apr]; "some risk that some of the
    planes are not full" [src: Wallace via BBC]; 536 people on 6 flights by 21:00 UK time
    (22:00 local) on 26 Apr [src: FCDO via Guardian; Cleverly on Sky 27 Apr]. The mean load
    of the model's first three UK flights (seats 100) must be below 80 (the record's mean of
    the three is 64), and the people out by 22:00 26 Apr within 20% of 536."""
    loads = [f["boarded"].iloc[:3].mean() for f in by_operator("uk")]
    assert np.mean(loads) < 80, loads
    people = mean_people("uk", before="2023-04-26T22:00")
    assert within(people, 536, 0.20), people


def test_uk_six_flights_by_26_apr_evening():
    """6 UK flights by 21:00 UK time (22:00 local) on 26 Apr [src: FCDO via Guardian]. The
    fleet's size was derived from it (with an assumed block time), so this checks that the
    cycle gives the rate it was sized for. Within 1.5 flights: whether a sixth or seventh has
    left by 22:00 is a matter of minutes."""
    flights = np.mean(
        [(f["departed"] < pd.Timestamp("2023-04-26T22:00")).sum() for f in by_operator("uk")]
    )
    assert abs(flights - 6) <= 1.5, flights


# ------------------------------------------------------------------------ Germany


def test_germany_total():
    """Germany: "rund 780" people on 6 evacuation flights and the withdrawal flights of
    26 Apr [src: augengeradeaus; Baerbock via haz.de 28 Apr]. Tolerance 20%: the
    intermediate statements conflict (>600 and >700 on 26 Apr; the 6th flight 78 or 120)."""
    assert within(mean_people("germany"), 780, 0.20), mean_people("germany")


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known miss: the first three German flights carry ~89 of 114 on average in the "
        "model, 104 on the record: Germans arrive by day from 10:00 23 Apr at the assumed "
        "rate, so fewer have come by the first landings at 15:50 and 16:50"
    ),
)
def test_germany_first_flights_nearly_full():
    """The first three German A400Ms carried 101, 113 and 97 [src: EinsFüKdo via FAZ, NDR;
    97 derived from 311 after three flights, handelsblatt]: mean 104 of 114 seats. The
    model's first three must average within 10% of that: at the weekend people were
    waiting for seats, not seats for people."""
    loads = [f["boarded"].iloc[:3].mean() for f in by_operator("germany")]
    assert within(np.mean(loads), 104, 0.10), loads


# ------------------------------------------------------------------------ France


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known miss: France flies ~720 in the model (~80 a flight) against 538 "
        "(~60 a rotation) on the record: partner nationals arrive from 22-23 Apr at the "
        "assumed rates and fill every European flight that weekend"
    ),
)
def test_france_air_total():
    """France flew 538 by air (209 French, 329 others) on 7 A400M and 2 C-130 rotations,
    23-25 Apr [src: Macron 25 Apr; air.defense.gouv.fr 26 Apr]. Tolerance 20%: an official
    count; the frigate Lorraine's 398 from Port Sudan are not in it."""
    assert within(mean_people("france"), 538, 0.20), mean_people("france")


def test_french_nationals_all_out():
    """209 French flown out by air [src: Macron 25 Apr]; the scenario's pool (230) is
    [assumption] 10% above that. Every French national who came must be out before France
    ended its air evacuation on 26 Apr [src: Colonna]: none left behind, and the mean
    evacuated within 15% of 209 (the pool is reached only if the arrival draws get there)."""
    french = [r.kpis["evacuated.french"] for r in runs("sudan_2023")]
    assert all(r.kpis["left_behind_by_category.french"] == 0 for r in runs("sudan_2023"))
    assert within(np.mean(french), 209, 0.15), french


# ------------------------------------------------------------------------ Netherlands, Canada


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known miss: Dutch flights carry ~600 in the model against ~215 on the record: "
        "partner nationals waiting inside fill them, where the record's first Dutch flight "
        "left with 32, 'not full - no more people present'"
    ),
)
def test_netherlands_total():
    """8 Dutch flights carried >85 Dutch and ~130 others [src: ANP via koophuis-amsterdam;
    NU.nl], ~215 [derived]. Tolerance 30%: both parts are rounded ('>85', '~130')."""
    assert within(mean_people("netherlands"), 215, 0.30), mean_people("netherlands")


def test_netherlands_eight_flights():
    """Eight Dutch flights, the 8th landing in Jordan ~23:00 (Jordan time) on 29 Apr
    [src: ANP]. An input check: the Dutch timetable was derived from the dated series, so
    every seed flies all eight, the last on the evening of 29 Apr."""
    for f in by_operator("netherlands"):
        assert len(f) == 8
        assert f["departed"].max() >= pd.Timestamp("2023-04-29T18:00")


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known miss: Canada's six flights carry ~350 in the model against ~550 on the "
        "record: by 27 Apr the partner nationals who flew Canada's flights have left on the "
        "European flights of 23-26 Apr (the France/Netherlands overshoot)"
    ),
)
def test_canada_total():
    """Six Canadian flights carried "nearly 550 people" incl. 140 US citizens [src: DND via
    CTV]. Tolerance 25%: "nearly", and the loads were held down by danger on the roads, which
    the model has only through the arrival rates."""
    assert within(mean_people("canada"), 550, 0.25), mean_people("canada")


# ------------------------------------------------------------------------ Spain, Italy, India


def test_spain_and_italy():
    """Spain's one A400M left WS ~22:00 23 Apr with ~100 [src: MAEC NOTA024; La Razón].
    Italy's two C-130s: the first landed in Djibouti with 107 [src: Tajani; Italpress]; the
    second's load is not published, so Italy is checked from below only (at least 107 *
    0.8). Spain's tolerance 35%: "about 100" and 72 landed at Torrejón [src: lasexta]."""
    assert within(mean_people("spain"), 100, 0.35), mean_people("spain")
    assert mean_people("italy") >= 0.8 * 107, mean_people("italy")


def test_india_one_flight():
    """India's one WS flight: an IAF C-130J, night 27/28 Apr, 121 people [src: IAF via NDTV,
    News18]. Tolerance 25% on people: the scenario's C-130 has 100 seats [src: DND via CTV],
    fewer than the 121 the C-130J took, so the model cannot carry them all; the departure
    must fall in the night of 27/28 Apr."""
    assert within(mean_people("india"), 121, 0.25), mean_people("india")
    for f in by_operator("india"):
        assert len(f) == 1
        when = f["departed"].iloc[0]
        assert pd.Timestamp("2023-04-27T20:00") <= when < pd.Timestamp("2023-04-28T06:00")


# ------------------------------------------------------------------------ the whole airlift


def test_wadi_saeedna_total():
    """About 5,000 evacuated through WS [src: Al Jazeera Net ~2 May, medium-low
    reliability]; the main users' totals give a lower bound of 4,400-4,700 [derived, §7].
    The pools sum to about 5,000 (derived from the same figure), so this checks that the
    airlift had the capacity to move whoever came: between 4,400 and 5,200."""
    totals = [r.kpis["evacuated"] for r in runs("sudan_2023")]
    assert 4400 <= np.mean(totals) <= 5200, totals


def test_queue_inside_on_26_apr():
    """Brig. Reeve on 26 Apr: "a queue of all nations' [citizens], maybe 300 strong"
    [src: Guardian]. The model's people inside the perimeter (screening and waiting for a
    seat) on 26 Apr, at its hourly peak, must be within a factor of two of 300."""
    peaks = []
    for r in runs("sudan_2023"):
        b = r.backlog
        inside = b[b["stage"].isin(["screening", "inside_waiting"])].groupby("time")["mean"].sum()
        peaks.append(inside[(inside.index >= "2023-04-26") & (inside.index < "2023-04-27")].max())
    assert 150 <= np.mean(peaks) <= 600, peaks


def test_uk_daily_within_500_a_day():
    """WS "would be able to fly out as many as 500 a day" (Brig. Reeve [src: Guardian
    26-27 Apr]): the model's UK departures on no calendar day of 26-29 Apr exceed 600
    (500 plus one 100-seat flight for a day's slot jitter)."""
    for r in runs("sudan_2023"):
        daily = r.evacuated_daily(by="operator")
        uk = daily[daily["operator"] == "uk"].set_index("date")["people"]
        assert uk.max() <= 600, uk


def test_conservation_every_seed():
    """Everyone is accounted for in every run: arrived = evacuated + left behind + turned
    away + gone away (the model checks it; this makes the check visible for this scenario)."""
    for r in runs("sudan_2023"):
        k = r.kpis
        assert k["arrived"] == k["evacuated"] + k["left_behind"] + k["turned_away"]


# ------------------------------------------------------------------------ what-ifs


def test_ceasefire_48h_earlier_leaves_many_behind():
    """Had the ceasefire collapsed at midnight 27/28 Apr, the UK's 27-29 Apr flights (about
    three quarters of its 2,122 [src: FCDO], by the 536 flown by 26 Apr evening) and most of
    Canada's would not have flown; with the airlift bound by people reaching the field, not
    seats [src: inews], those still to come are lost. On paired seeds the earlier end must
    cost at least a tenth of the evacuated in every seed. (The size is a judgement: some of
    those flown on 28-29 Apr would have come and flown earlier.)"""
    base = [r.kpis["evacuated"] for r in runs("sudan_2023")]
    early = [r.kpis["evacuated"] for r in runs("sudan_ceasefire_48h_earlier")]
    losses = np.subtract(base, early)
    assert (losses >= 0.1 * np.array(base)).all(), losses


def test_one_more_fleet_changes_little():
    """UK government sources: "no shortage of capacity ... rate determined by the number of
    people reaching the airfield" [src: inews]: one more fleet (3 flights a day from
    26 Apr) must add less than 3% to those evacuated, paired seed by seed, and never fewer;
    its UK flights fly emptier (mean load of UK flights lower in every seed). The second
    fleet's aircraft are A400Ms (114 seats) and the first's C-130s (100)."""
    base, more = runs("sudan_2023"), runs("sudan_one_more_fleet")
    for b, m in zip(base, more, strict=True):
        gain = m.kpis["evacuated"] - b.kpis["evacuated"]
        assert 0 <= gain < 0.03 * b.kpis["evacuated"], gain
    load_b = [f["boarded"].mean() for f in by_operator("uk")]
    load_m = [f["boarded"].mean() for f in by_operator("uk", "sudan_one_more_fleet")]
    assert all(m < b for b, m in zip(load_b, load_m, strict=True)), (load_b, load_m)


# ------------------------------------------------------------------------ seats and roads


def test_eligibility_keeps_british_to_uk_flights():
    """The UK flew "only British passport holders and their immediate family" until others
    were let on from 27 Apr [src: BBC; Cleverly on Sky 27 Apr], and British nationals were
    not flown by the other nations here (the issue's complaint: with one global priority
    they took 493 seats on French and German flights). An input check of the seat rules:
    no British evacuee on another operator's flight, and nobody but British on UK flights
    before 27 Apr, in every seed."""
    for r in runs("sudan_2023"):
        ev = r.evacuated
        assert ev[(ev["category"] == "british") & (ev["operator"] != "uk")]["people"].sum() == 0
        early_uk = ev[(ev["operator"] == "uk") & (ev["time"] < pd.Timestamp("2023-04-27"))]
        assert set(early_uk[early_uk["people"] > 0]["category"]) <= {"british"}


def test_uk_residents_wait_then_board():
    """UK residents without a passport: "almost 30 NHS employees" had been blocked before the
    28-29 Apr U-turn let them on Saturday's flight [src: Arab News; BBC via Telegraph]. In every
    seed none flies before 29 Apr, some fly after, and UK flights that left with empty seats
    before then record people waiting who were not allowed them (may_not_board)."""
    for r, f in zip(runs("sudan_2023"), by_operator("uk"), strict=True):
        ev = r.evacuated
        res = ev[ev["category"] == "uk_residents"]
        assert res[res["time"] < pd.Timestamp("2023-04-29")]["people"].sum() == 0
        assert res["people"].sum() > 0
        before = f[f["departed"] < pd.Timestamp("2023-04-29")]
        assert before["may_not_board"].sum() > 0


@pytest.mark.xfail(
    strict=True,
    reason=(
        "known miss: the model flies ~140 UK residents (~70 clinicians at one dependant "
        "each) against 18 Sudanese clinicians on the record by 1 May: the pool (74 NHS "
        "doctors named by the FCDO, each with a dependant) is far above those who came"
    ),
)
def test_uk_residents_count():
    """18 Sudanese clinicians had left by Mon 1 May [src: No10 via pamtengo], including the
    1 May Port Sudan flight. The model's UK residents flown, halved (the scenario assumes one
    dependant each), must be within a factor of two of 18."""
    flown = np.mean([r.kpis["evacuated.uk_residents"] for r in runs("sudan_2023")]) / 2
    assert 9 <= flown <= 36, flown


def test_french_came_by_convoy():
    """French nationals were escorted from assembly points in Khartoum to the airfield "for
    two days" [src: colsbleus 27 Apr]: in the scenario all of them come that way. In every
    seed the convoys run on 23-24 Apr (a departure at 01:00 25 Apr at the latest), and every
    French evacuee was delivered by one (people delivered >= French evacuated)."""
    for r in runs("sudan_2023"):
        c = r.convoys
        assert len(c) > 0
        assert c["departed"].max() <= pd.Timestamp("2023-04-25T01:00")
        assert r.kpis["convoy_people_delivered"] >= r.kpis["evacuated.french"]


def test_uncertain_ceasefire_end():
    """With the ceasefire's end uncertain (drawn between midnight 26/27 and 29/30 Apr
    [derived: the first window and its extension, TASS; AP]), each seed's run ends at its own
    drawn time within that range; on paired seeds no run evacuates more than the base (all
    else the same), and the later the drawn end, the more get out (rank correlation of
    deadline and evacuated across seeds at least 0.8)."""
    base = [r.kpis["evacuated"] for r in runs("sudan_2023")]
    unc = runs("sudan_ceasefire_uncertain")
    ends = [r.kpis["deadline_h"] for r in unc]
    out = [r.kpis["evacuated"] for r in unc]
    assert all(108 <= h <= 180 for h in ends), ends
    assert all(u <= b for u, b in zip(out, base, strict=True)), (out, base)
    rho = pd.Series(ends).corr(pd.Series(out), method="spearman")
    assert rho >= 0.8, (ends, out)
