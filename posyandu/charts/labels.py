"""Chart texts in Bahasa Indonesia (default) and English.

Index names follow PMK 2/2020 (BB/U, PB/U, TB/U, BB/PB, BB/TB) and the rule set's labels; "BGM"
and the KMS line names follow the Buku KIA. ``text(key, lang)`` falls back to Indonesian.
"""
from __future__ import annotations

from datetime import date

from ..core.calendar import MONTHS_ID

LANGUAGES = ("id", "en")

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
MONTHS_SHORT = {"id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
                "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")}

TEXTS = {
    # child charts: titles by chart kind
    "title.wfa": ("Berat Badan menurut Umur (BB/U)", "Weight-for-age"),
    "title.lhfa": ("Panjang/Tinggi Badan menurut Umur (PB/U, TB/U)", "Length/height-for-age"),
    "title.lfa": ("Panjang Badan menurut Umur (PB/U)", "Length-for-age"),
    "title.hfa": ("Tinggi Badan menurut Umur (TB/U)", "Height-for-age"),
    "title.wfl": ("Berat Badan menurut Panjang Badan (BB/PB)", "Weight-for-length"),
    "title.wfh": ("Berat Badan menurut Tinggi Badan (BB/TB)", "Weight-for-height"),
    "title.hcfa": ("Lingkar Kepala menurut Umur (LK/U)", "Head circumference-for-age"),
    "sex.1": ("Laki-laki", "Boys"),
    "sex.2": ("Perempuan", "Girls"),
    "axis.age_months": ("Umur (bulan)", "Age (months)"),
    "axis.weight": ("Berat badan (kg)", "Weight (kg)"),
    "axis.length": ("Panjang badan (cm)", "Length (cm)"),
    "axis.height": ("Tinggi badan (cm)", "Height (cm)"),
    "axis.lenhei": ("Panjang/tinggi badan (cm)", "Length/height (cm)"),
    "axis.head": ("Lingkar kepala (cm)", "Head circumference (cm)"),
    "legend.median": ("Median (0 SD)", "Median (0 SD)"),
    "legend.sd": ("Garis −3 sampai +3 SD", "−3 to +3 SD lines"),
    "legend.red": ("Garis merah (BB/U {z} SD): di bawahnya BGM", "Red line (weight-for-age {z} SD): below it BGM"),
    "legend.orange": ("Garis oranye (BB/U {z} SD)", "Orange line (weight-for-age {z} SD)"),
    "legend.child": ("Hasil pengukuran anak", "The child's measurements"),
    "legend.flagged": ("Nilai tidak wajar: ukur ulang", "Implausible value: measure again"),
    "legend.oedema": ("Edema: tidak dinilai", "Oedema: not assessed"),
    "mark.flagged": ("ukur ulang", "measure again"),
    "mark.oedema": ("edema", "oedema"),
    "born": ("lahir {date}", "born {date}"),
    "no_points": ("Belum ada pengukuran pada rentang ini", "No measurements in this range"),
    "footer.child": ("Standar Pertumbuhan Anak WHO 2006 (PMK 2/2020). Garis KMS dari aturan {version}. "
                     "BGM adalah tanda waspada yang perlu dikonfirmasi, bukan diagnosis.",
                     "WHO Child Growth Standards 2006 (PMK 2/2020). KMS lines from rule set {version}. "
                     "BGM is a warning that needs confirmation, not a diagnosis."),
    # area charts
    "title.distribution": ("Sebaran z-score anak yang diukur", "Distribution of the z-scores of the children measured"),
    "panel.haz": ("TB/U (panjang/tinggi badan menurut umur)", "Length/height-for-age (HAZ)"),
    "panel.whz": ("BB/TB (berat badan menurut panjang/tinggi badan)", "Weight-for-length/height (WHZ)"),
    "panel.waz": ("BB/U (berat badan menurut umur)", "Weight-for-age (WAZ)"),
    "axis.z": ("z-score", "z-score"),
    "axis.density": ("Kepadatan", "Density"),
    "legend.sample": ("Anak yang diukur (n = {n}; rerata {mean}; SD {sd})",
                      "Children measured (n = {n}; mean {mean}; SD {sd})"),
    "legend.standard": ("Standar WHO, N(0, 1)", "WHO standard, N(0, 1)"),
    "too_few": ("Data tidak cukup (n = {n})", "Too few values (n = {n})"),
    "footer.distribution": ("Satu catatan per anak (pengukuran terakhir bulan itu); nilai tidak wajar (flag WHO) "
                            "dikeluarkan. Kurva sampel: kernel Gauss, bandwidth bw.nrd0. Data administratif, "
                            "tidak dapat dibandingkan dengan survei.",
                            "One record per child (her last measurement of the month); implausible values (WHO "
                            "flags) excluded. Sample curve: Gaussian kernel, bandwidth bw.nrd0. Administrative "
                            "data, not comparable to surveys."),
    "title.trend": ("Tren prevalensi bulanan (IK 95%)", "Monthly prevalence trend (95% CI)"),
    "axis.prevalence": ("Prevalensi (%)", "Prevalence (%)"),
    "axis.month": ("Bulan", "Month"),
    "trend.stunting": ("Stunting (TB/U < −2 SD)", "Stunting (height-for-age < −2 SD)"),
    "trend.wasting": ("Wasting (BB/TB < −2 SD)", "Wasting (weight-for-height < −2 SD)"),
    "trend.underweight": ("Berat badan kurang (BB/U < −2 SD)", "Underweight (weight-for-age < −2 SD)"),
    "footer.trend": ("Prevalensi dengan IK 95% seperti WHO Anthro; N = anak yang diukur tiap bulan. Data "
                     "administratif, tidak dapat dibandingkan dengan survei (SSGI/SKI).",
                     "Prevalence with WHO Anthro's 95% CI; N = the children measured each month. Administrative "
                     "data, not comparable to surveys (SSGI/SKI)."),
    # coverage bars
    "title.immunization": ("Imunisasi dasar lengkap (IDL) anak 12-23 bulan per desa",
                           "Complete basic immunization (IDL), children 12-23 months, by village"),
    "title.vitamin_a_breastfeeding": ("Cakupan vitamin A dan ASI eksklusif",
                                      "Vitamin A and exclusive breastfeeding coverage"),
    "axis.coverage": ("Cakupan (%)", "Coverage (%)"),
    "coverage.idl": ("IDL sebelum umur 1 tahun", "IDL before the first birthday"),
    "coverage.threshold": ("Batas UCI {value} %", "UCI threshold {value} %"),
    "coverage.at_or_above": ("{what}: mencapai batas", "{what}: at or above the threshold"),
    "coverage.below": ("Di bawah batas UCI", "Below the UCI threshold"),
    "coverage.none": ("tidak ada sasaran", "nobody to count"),
    "coverage.no_groups": ("Tidak ada wilayah", "No areas"),
    "footer.immunization": ("Dari laporan cakupan imunisasi (tabel UCI desa): anak terdaftar umur 12-23 bulan pada "
                            "akhir bulan dengan semua dosis IDL sah sebelum umur 1 tahun. Data administratif.",
                            "From the immunization coverage report (UCI by village table): registered children "
                            "12-23 months at the month's end with every IDL dose valid before their first "
                            "birthday. Administrative data."),
    "footer.vitamin_a_breastfeeding": ("Dari laporan cakupan vitamin A dan ASI eksklusif: vitamin A = sasaran "
                                       "6-59 bulan yang dapat kapsul bulan ini; ASI eksklusif = bayi 0-5 bulan "
                                       "yang ditanya dan menjawab ya. Data administratif.",
                                       "From the vitamin A and exclusive breastfeeding report: vitamin A = "
                                       "registered children 6-59 months given a capsule this month; exclusive "
                                       "breastfeeding = infants 0-5 months asked who answered yes. Administrative "
                                       "data."),
}


def text(key: str, lang: str = "id", **values) -> str:
    pair = TEXTS[key]
    out = pair[1] if lang == "en" else pair[0]
    return out.format(**values) if values else out


def number(value: float, decimals: int, lang: str = "id") -> str:
    """``-1.05`` as ``−1,05`` (id: decimal comma) or ``−1.05`` (en); a true minus sign."""
    out = f"{value:.{decimals}f}".replace("-", "−")
    return out.replace(".", ",") if lang == "id" else out


def count(n: int, lang: str = "id") -> str:
    """``12345`` as ``12.345`` (id) or ``12,345`` (en)."""
    text = f"{int(n):,}"
    return text.replace(",", ".") if lang == "id" else text


def signed(z: float, lang: str = "id") -> str:
    """An SD position with its sign: ``+1``, ``−3``, ``−2,5`` (``0`` unsigned)."""
    z = float(z)
    if z == 0:
        return "0"
    text = number(abs(z), 0 if z.is_integer() else 1, lang)
    return ("+" if z > 0 else "−") + text


def long_date(d: date, lang: str = "id") -> str:
    if lang == "en":
        return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"
    return f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}"


def short_month(month_text: str, lang: str = "id") -> str:
    """``"2026-11"`` -> ``"Nov 2026"`` (``"Agu 2026"`` in Indonesian for August)."""
    year, month = int(month_text[:4]), int(month_text[5:7])
    return f"{MONTHS_SHORT['en' if lang == 'en' else 'id'][month - 1]} {year}"
