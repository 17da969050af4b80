"""The dashboard's words in Bahasa Indonesia (default) and English.

Templates write ``{{ _("English text") }}``; the catalog maps each English
text to its Indonesian one. A test checks that every text a template asks
for has its translation, so nothing shows up half in English.
"""

from __future__ import annotations

import re

LANGUAGES = ("id", "en")

ID: dict[str, str] = {
    # navigation and frame
    "Fleet": "Armada", "Alarms": "Alarm", "Progress": "Kemajuan", "Schedule": "Jadwal", "Packets": "Paket",
    "Quarantine": "Karantina", "Reviews": "Tinjauan", "Commands": "Perintah", "Users": "Pengguna",
    "Audit log": "Log audit", "Log out": "Keluar", "Log in": "Masuk", "User name": "Nama pengguna",
    "Password": "Kata sandi", "Language": "Bahasa", "fleet dashboard": "dasbor armada",
    "Wrong user name or password.": "Nama pengguna atau kata sandi salah.",
    "Too many failed attempts: this account is locked for a while.":
        "Terlalu banyak percobaan gagal: akun ini dikunci sementara.",
    "You do not have the right to do this.": "Anda tidak berhak melakukan ini.",
    "Not found": "Tidak ditemukan", "Back": "Kembali", "Save": "Simpan", "Cancel": "Batal", "Apply": "Terapkan",
    "Filter": "Saring", "Search": "Cari", "all": "semua", "none": "tidak ada", "yes": "ya", "no": "tidak",
    "signed in as": "masuk sebagai", "role": "peran", "viewer": "pengamat", "operator": "operator", "admin": "admin",
    # fleet
    "Station": "Stasiun", "Stations": "Stasiun", "Status": "Status", "online": "daring", "offline": "luring",
    "silent": "diam", "revoked": "dicabut", "Last seen": "Terakhir terlihat", "ago": "lalu",
    "Today's assignment": "Tugas hari ini", "Where it is": "Posisi sebenarnya", "Outbox": "Antrean kirim",
    "not empty since": "tidak kosong sejak", "oldest": "tertua", "oldest packet sealed": "paket tertua disegel", "Disk free": "Disk bebas", "Temperature": "Suhu",
    "Devices": "Perangkat", "Version": "Versi", "Enrolled today": "Terekam hari ini",
    "no assignment": "tanpa tugas", "as planned": "sesuai rencana", "elsewhere": "di tempat lain",
    "State": "Keadaan", "Sort": "Urutkan", "Find a station": "Cari stasiun", "with alarms": "dengan alarm",
    "stations": "stasiun", "online now": "daring sekarang", "open alarms": "alarm terbuka",
    "packets in outboxes": "paket di antrean kirim", "enrolled today": "terekam hari ini",
    # station page
    "Telemetry": "Telemetri", "Range": "Rentang", "last hour": "1 jam terakhir", "last 6 hours": "6 jam terakhir",
    "last 24 hours": "24 jam terakhir", "last 7 days": "7 hari terakhir", "Outbox depth": "Kedalaman antrean",
    "Disk free (MiB)": "Disk bebas (MiB)", "Temperature (°C)": "Suhu (°C)",
    "Enrollments per hour": "Perekaman per jam", "No data in this range.": "Tidak ada data pada rentang ini.",
    "Registered": "Terdaftar", "Key": "Kunci", "Drivers": "Driver", "Packets stored": "Paket tersimpan",
    "Recent commands": "Perintah terakhir", "Send a command": "Kirim perintah",
    # alarms
    "Open alarms": "Alarm terbuka", "History": "Riwayat", "Severity": "Tingkat", "Kind": "Jenis",
    "Text": "Keterangan", "Started": "Mulai", "Ended": "Selesai", "Acknowledged": "Diakui",
    "Acknowledge": "Akui", "Note": "Catatan", "still open": "masih terbuka", "No open alarms.": "Tidak ada alarm terbuka.",
    "by": "oleh", "Webhook": "Webhook", "delivered": "terkirim", "pending": "menunggu", "failed": "gagal",
    "Alarm acknowledged.": "Alarm diakui.", "Already acknowledged.": "Sudah diakui.",
    # progress
    "Recorded against target": "Terekam dibanding target", "Kecamatan": "Kecamatan", "Kelurahan": "Kelurahan",
    "Wajib KTP": "Wajib KTP", "Recorded": "Terekam", "Remaining": "Sisa", "Today's recordings": "Perekaman hari ini",
    "by station": "per stasiun", "by hour": "per jam", "Forecast finish": "Perkiraan selesai",
    "from the current plan": "menurut rencana saat ini", "No plan yet.": "Belum ada rencana.",
    "No targets yet: import them with": "Belum ada target: impor dengan", "recorded this campaign":
        "terekam dalam kampanye ini", "Total": "Jumlah",
    # schedule
    "View": "Tampilan", "By station": "Per stasiun", "By kelurahan": "Per kelurahan", "From": "Dari", "Days": "Hari",
    "Re-plans": "Perencanaan ulang", "Why": "Alasan", "Planner": "Perencana", "Made": "Dibuat",
    "active": "aktif", "new plan": "rencana baru", "Venues": "Lokasi jemput bola", "Add a venue": "Tambah lokasi",
    "Edit": "Ubah", "Remove": "Hapus", "Name": "Nama", "Address": "Alamat", "Date": "Tanggal",
    "Expected people": "Perkiraan orang", "Venue id": "Id lokasi", "kelurahan code": "kode kelurahan",
    "school": "sekolah", "market": "pasar", "hospital": "rumah sakit", "home_visit": "kunjungan rumah",
    "community_meeting": "pertemuan warga", "Venue saved; the controller re-plans around it.":
        "Lokasi disimpan; pengendali menyusun ulang rencana.", "Venue removed.": "Lokasi dihapus.",
    "No assignments in these days.": "Tidak ada tugas pada hari-hari ini.",
    "stations needed (empty: decided by the planner)": "stasiun diperlukan (kosong: diputuskan perencana)",
    "Remove this venue?": "Hapus lokasi ini?",
    "Station-days changed": "Hari-stasiun berubah",
    # schedule: the plan's figures
    "Plan figures": "Angka rencana", "fit, bound, baselines, coverage": "kecocokan, batas, pembanding, cakupan",
    "The turnout model's fit to Solo 2013, the independent bound, the rotation baselines and the coverage of the "
    "active plan, as printed by":
        "Kecocokan model kehadiran dengan Solo 2013, batas independen, pembanding rotasi dan cakupan rencana aktif, "
        "seperti yang dicetak oleh",
    "Working out the figures of plan": "Menghitung angka rencana",
    "(the bound takes some seconds)": "(batas perlu beberapa detik)",
    "The figures of this plan could not be worked out; the controller's log says why.":
        "Angka rencana ini tidak dapat dihitung; log pengendali menyebutkan sebabnya.",
    "The plan and the independent bound": "Rencana dan batas independen",
    "Working days to finish": "Hari kerja sampai selesai", "Finish": "Selesai", "Station-days": "Hari-stasiun",
    "Idle station-days": "Hari-stasiun menganggur", "Station-days expected below": "Hari-stasiun diperkirakan di bawah",
    "Recorded by stations": "Direkam oleh stasiun", "Bound (LP relaxation and chains)": "Batas (relaksasi LP dan rantai)",
    "Days / bound": "Hari / batas",
    "No plan can finish in fewer working days than the bound: it knows only the model, the calendar and the "
    "stations, not the planner.":
        "Tidak ada rencana yang dapat selesai dalam hari kerja lebih sedikit dari batas ini: batas hanya mengenal "
        "model, kalender dan stasiun, bukan perencananya.",
    "Coverage of wajib KTP": "Cakupan wajib KTP", "At the start": "Di awal", "not by stations": "tidak oleh stasiun",
    "working days": "hari kerja", "At the deadline": "Pada tenggat", "When the plan ends": "Saat rencana berakhir",
    "Left to office service": "Sisa untuk layanan kantor", "Left to home visits": "Sisa untuk kunjungan rumah",
    "Rotation baselines": "Pembanding rotasi",
    "Gains are claimed over the best variant only.": "Keunggulan hanya diklaim terhadap varian terbaik.",
    "Rotation variant": "Varian rotasi", "Days to record as much as the plan": "Hari untuk merekam sebanyak rencana",
    "Share by the deadline": "Bagian pada tenggat", "never": "tidak pernah", "best": "terbaik",
    "This plan": "Rencana ini", "{days}-day blocks, {kelurahan} kelurahan x {stations}":
        "blok {days} hari, {kelurahan} kelurahan x {stations}",
    "Fit: each reported Solo 2013 fact beside the model": "Kecocokan: setiap fakta Solo 2013 di samping model",
    "Fact": "Fakta", "Reported": "Dilaporkan", "Model": "Model", "Error": "Selisih", "Turnout model": "Model kehadiran",
    "Parameter": "Parameter", "Value": "Nilai", "Where it comes from": "Asal",
    "How much each figure leans on each parameter (+/-50%):":
        "Seberapa besar setiap angka bergantung pada setiap parameter (+/-50%):",
    "Residue: left to office service and home visits": "Sisa: untuk layanan kantor dan kunjungan rumah",
    "Stop rule: no station-day expected to record fewer than":
        "Aturan berhenti: tidak ada hari-stasiun yang diperkirakan merekam kurang dari",
    "the largest": "terbesar", "kelurahan": "kelurahan",
    # the Solo 2013 facts and where each turnout parameter comes from
    "campaign start (kelurahan safari)": "awal kampanye (safari kelurahan)",
    "kelurahan served by 25 Oct": "kelurahan terlayani sampai 25 Okt",
    "recorded a day, 5 kelurahan x 2 stations": "terekam per hari, 5 kelurahan x 2 stasiun",
    "best kelurahan day (Pajang, 2 stations)": "hari kelurahan terbaik (Pajang, 2 stasiun)",
    "recorded at the start (of 415,549)": "terekam di awal (dari 415.549)",
    "left at the start": "sisa di awal",
    "first pass done by the end-2013 deadline": "putaran pertama selesai sebelum tenggat akhir 2013",
    "To the model": "Bagi model", "fitted": "dicocokkan", "held out": "uji (tidak dipakai mencocokkan)",
    "input": "data masukan",
    "fitted (Pajang 180 with 2 stations)": "dicocokkan (Pajang 180 dengan 2 stasiun)",
    "fitted (~400/day over 5 kelurahan; 16 served by 25 Oct)":
        "dicocokkan (~400/hari di 5 kelurahan; 16 terlayani sampai 25 Okt)",
    "prior (not identified by the Solo facts)": "asumsi awal (tidak ditentukan oleh fakta Solo)",
    "field fact (kecamatan office, max ~25 a day)": "fakta lapangan (kantor kecamatan, maks. ~25 sehari)",
    "field fact (~15 minutes a person)": "fakta lapangan (~15 menit per orang)",
    # packets
    "Find a packet": "Cari paket", "Packet id": "Id paket", "Sequence": "Nomor urut", "NIK (16 digits)": "NIK (16 digit)",
    "The NIK is used for this search only and is shown masked.": "NIK hanya dipakai untuk pencarian ini dan ditampilkan tersamar.",
    "Packet": "Paket", "Timeline": "Riwayat paket", "sealed": "disegel", "stored": "disimpan",
    "quarantined": "dikarantina", "requeued": "diantre ulang", "deleted": "dihapus", "exported": "diekspor",
    "purged": "isi tersegel dihapus", "central system": "sistem pusat",
    "review": "tinjauan",
    "No packet found.": "Paket tidak ditemukan.", "Captured": "Direkam", "Sealed": "Disegel", "Received": "Diterima",
    "Operator": "Operator", "Assignment": "Tugas", "Size": "Ukuran", "Stored by": "Disimpan oleh",
    "Reveal the full NIK": "Tampilkan NIK lengkap", "This view is recorded in the audit log.":
        "Tampilan ini dicatat di log audit.", "Reason": "Alasan", "Requeue": "Antre ulang", "Delete": "Hapus",
    "handled": "ditangani", "Show handled too": "Tampilkan yang sudah ditangani",
    "Delete this quarantined packet for good?": "Hapus paket karantina ini untuk selamanya?",
    "Biometrics are never shown here: packets stay sealed.": "Biometrik tidak pernah ditampilkan: paket tetap tersegel.",
    "Nothing in quarantine.": "Karantina kosong.", "payload kept": "isi disimpan",
    # reviews
    "NIKs enrolled twice": "NIK terekam dua kali", "Earlier packet": "Paket sebelumnya", "Later packet": "Paket berikutnya",
    "Decision": "Keputusan", "Resolve": "Selesaikan", "Resolved": "Diselesaikan", "keep_earlier": "pertahankan yang pertama",
    "keep_later": "pertahankan yang kedua", "different_persons": "orang berbeda (NIK salah)",
    "escalated": "diteruskan ke Dukcapil", "No NIK waiting for review.": "Tidak ada NIK yang menunggu tinjauan.",
    "Review resolved.": "Tinjauan diselesaikan.", "Show resolved too": "Tampilkan yang sudah selesai",
    "Index data only, no biometrics.": "Hanya data indeks, tanpa biometrik.",
    # commands
    "Command": "Perintah", "Send": "Kirim", "to": "ke", "Issued": "Dikirim", "Reply": "Balasan",
    "sent": "terkirim", "not_sent": "tidak terkirim", "replied": "dibalas", "timeout": "habis waktu", "late": "terlambat",
    "self_test": "uji mandiri", "driver_swap": "ganti driver", "config_reload": "muat ulang konfigurasi",
    "requeue_quarantine": "antre ulang karantina", "Device kind": "Jenis perangkat", "Driver": "Driver",
    "Options (JSON)": "Opsi (JSON)", "Packet id (empty: all)": "Id paket (kosong: semua)",
    "Choose stations": "Pilih stasiun", "Command sent.": "Perintah dikirim.", "ok": "berhasil", "error": "galat",
    "waiting": "menunggu", "Viewers cannot send commands.": "Pengamat tidak dapat mengirim perintah.",
    # users and audit
    "Add a user": "Tambah pengguna", "Role": "Peran", "New password": "Kata sandi baru", "Change": "Ganti",
    "Created": "Dibuat", "When": "Waktu", "Who": "Siapa", "Action": "Tindakan", "Target": "Sasaran",
    "Detail": "Rincian", "User saved.": "Pengguna disimpan.", "User removed.": "Pengguna dihapus.",
    "Password changed.": "Kata sandi diganti.", "Remove this user?": "Hapus pengguna ini?",
    # errors shown after a form
    "No such entry waiting in the quarantine.": "Tidak ada entri itu yang menunggu di karantina.",
    "No such entry in the quarantine.": "Tidak ada entri itu di karantina.",
    "Entry #{id}: only its first bytes were kept; the station still holds the packet and sends it again "
    "(or ask it to: command requeue_quarantine).":
        "Entri #{id}: hanya byte awalnya yang disimpan; stasiun masih memegang paketnya dan mengirimnya lagi "
        "(atau minta dengan perintah antre ulang karantina).",
    "Choose a decision.": "Pilih keputusan.", "Give the reason for the decision.": "Tuliskan alasan keputusan.",
    "That pair is unknown or already resolved.": "Pasangan itu tidak dikenal atau sudah diselesaikan.",
    "Driver options must be JSON, e.g. {example}.": "Opsi driver harus JSON, mis. {example}.",
    "An admin cannot remove their own account here; use {command}.":
        "Admin tidak dapat menghapus akunnya sendiri di sini; gunakan {command}.",
    "No venue {venue}.": "Tidak ada lokasi {venue}.",
    "A NIK has only digits.": "NIK hanya berisi angka.",
    "A NIK has 16 digits.": "NIK terdiri dari 16 angka.",
    "The NIK's region (first 6 digits) is not a known kecamatan.":
        "Kode wilayah NIK (6 angka pertama) bukan kecamatan yang dikenal.",
    "The birth date in the NIK cannot be (women: day + 40).":
        "Tanggal lahir dalam NIK tidak mungkin (perempuan: tanggal + 40).",
    "The NIK's serial (last 4 digits) starts at 0001.": "Nomor urut NIK (4 angka terakhir) dimulai dari 0001.",
    "That is not a valid NIK.": "Itu bukan NIK yang sah.",
    "The sequence number must be a whole number.": "Nomor urut harus bilangan bulat.",
    "from (empty: the kind's usual hours)": "mulai (kosong: jam biasa untuk jenisnya)",
    "until": "sampai",
    "date must be YYYY-MM-DD, hours HH:MM, expected people and stations whole numbers":
        "tanggal harus TTTT-BB-HH, jam JJ:MM, perkiraan warga dan stasiun bilangan bulat",
    "Hand-off to the central system": "Penyerahan ke sistem pusat", "sent": "terkirim", "enrolled": "terdaftar",
    "print-ready": "siap cetak", "printed": "tercetak", "handed out": "dibagikan",
    "Residents who must come back": "Penduduk yang harus datang lagi", "why": "sebab",
    "finger_unreadable": "sidik jari tidak terbaca", "face_unusable": "foto wajah tidak layak",
    "signature_missing": "tanda tangan tidak ada",
    "None: the centre has refused no record for a reason only the resident can fix.":
        "Tidak ada: pusat belum menolak rekaman karena sebab yang hanya bisa diperbaiki penduduk.",
    "Raised by the hand-off": "Dari penyerahan ke pusat",
    "A fingerprint match under another NIK, the centre's duplicates and refusals, records that could not be exported.":
        "Sidik jari yang cocok dengan NIK lain, duplikat dan penolakan dari pusat, rekaman yang tidak dapat diekspor.",
    "biometric_duplicate": "sidik jari cocok dengan NIK lain", "central_duplicate": "duplikat di pusat",
    "central_failure": "ditolak pusat", "export_refused": "tidak dapat diekspor",
    "Other packet": "Paket lain", "Detail": "Rincian", "score": "skor", "Nothing waiting.": "Tidak ada yang menunggu.",
    "same_person": "orang yang sama", "resident_contacted": "penduduk sudah dihubungi",
    "retry_export": "ekspor ulang", "That review is unknown or already resolved.":
        "Tinjauan itu tidak dikenal atau sudah diselesaikan.",
    # the controller's own errors after a form (ControllerError templates; see error_text)
    "user name {name!r} must be 1-64 lower-case letters, digits, '.', '_' or '-'":
        "nama pengguna {name!r} harus 1-64 huruf kecil, angka, '.', '_' atau '-'",
    "role must be one of {roles}, got {role!r}": "peran harus salah satu dari {roles}, bukan {role!r}",
    "a password needs at least {count} characters": "kata sandi paling sedikit {count} karakter",
    "no user {name}": "tidak ada pengguna {name}",
    "command must be one of {commands}, got {name!r}": "perintah harus salah satu dari {commands}, bukan {name!r}",
    "driver_swap needs a device kind ({kinds}), got {kind!r}":
        "ganti driver perlu jenis perangkat ({kinds}), bukan {kind!r}",
    "driver_swap needs the name of the new driver (see `rekam drivers list`)":
        "ganti driver perlu nama driver baru (lihat `rekam drivers list`)",
    "choose at least one station": "pilih paling sedikit satu stasiun",
    "no such station: {stations}": "stasiun tidak dikenal: {stations}",
    "no venue {venue}": "tidak ada lokasi {venue}",
    "venue {venue} already exists": "lokasi {venue} sudah ada",
    "venue {label}: the id must be non-empty and must not look like a kelurahan code":
        "lokasi {label}: id wajib diisi dan tidak boleh berbentuk kode kelurahan",
    "venue {label}: kind {kind!r} is not one of {kinds}": "lokasi {label}: jenis {kind!r} bukan salah satu dari {kinds}",
    "venue {label}: {problem}": "lokasi {label}: {problem}",
    "venue {label}: {code} is not a kelurahan code (10 digits)": "lokasi {label}: {code} bukan kode kelurahan (10 angka)",
    "venue {label}: expected_people must be a positive whole number, got {people!r}":
        "lokasi {label}: perkiraan warga harus bilangan bulat positif, bukan {people!r}",
    "venue {label}: a {kind} visit needs at least {least} expected people, got {people}; "
    "plan a home visit or join a larger event":
        "lokasi {label}: kunjungan {kind} perlu paling sedikit {least} warga, bukan {people}; "
        "rencanakan kunjungan rumah atau gabung ke acara yang lebih besar",
    "venue {label}: stations must be a positive whole number or None, got {stations!r}":
        "lokasi {label}: jumlah stasiun harus bilangan bulat positif atau kosong, bukan {stations!r}",
    "venue {label}: give both start and end hours, or neither":
        "lokasi {label}: isi jam mulai dan jam selesai, atau kosongkan keduanya",
    "venue {label}: hours {start}-{end} do not make a working day":
        "lokasi {label}: jam {start}-{end} bukan hari kerja",
}

def translate(text: str, lang: str) -> str:
    if lang == "en":
        return text
    return ID.get(text, text)


#: The scheduler's reasons for a plan, part by part ("st-02 offline, kelurahan 33.72.05.1001 finished").
_PLAN_REASONS = (
    (re.compile(r"^new plan$"), "rencana baru"),
    (re.compile(r"^new day$"), "hari baru"),
    (re.compile(r"^(\S+) offline$"), "{0} offline"),
    (re.compile(r"^(\S+) back$"), "{0} aktif kembali"),
    (re.compile(r"^kelurahan (\S+) finished$"), "kelurahan {0} selesai"),
    (re.compile(r"^outreach events changed$"), "acara jemput bola berubah"),
)


def plan_reason(text: str | None, lang: str) -> str:
    """Why a plan was made, in the operator's language (a part the scheduler adds later stays as written)."""
    if not text:
        text = "new plan"
    if lang == "en":
        return text
    out = []
    for part in (p.strip() for p in text.split(",")):
        for pattern, words in _PLAN_REASONS:
            m = pattern.match(part)
            if m:
                out.append(words.format(*m.groups()))
                break
        else:
            out.append(part)
    return ", ".join(out)


def error_text(exc: Exception, lang: str) -> str:
    """A controller error in the operator's language: its template translated, then its values."""
    template, params = getattr(exc, "template", ""), getattr(exc, "params", {})
    if lang != "en" and template in ID:
        try:
            return ID[template].format(**params)
        except (KeyError, IndexError, ValueError):
            pass
    return str(exc)
