"""Operator-facing text: Bahasa Indonesia by default, English on request.

Code, logs and exceptions stay in English; anything an operator reads on the
station goes through :func:`t` with a stable message id. A missing
translation falls back to English and then to the id itself, so a new
reason id never crashes a screen. Parameters never carry biometric data.
"""

from __future__ import annotations

from typing import Mapping

from station.i18n_kiosk import MESSAGES as KIOSK_MESSAGES

DEFAULT_LANGUAGE = "id"

FINGERS: Mapping[str, Mapping[int, str]] = {
    "id": {1: "ibu jari kanan", 2: "telunjuk kanan", 3: "jari tengah kanan", 4: "jari manis kanan",
           5: "kelingking kanan", 6: "ibu jari kiri", 7: "telunjuk kiri", 8: "jari tengah kiri",
           9: "jari manis kiri", 10: "kelingking kiri"},
    "en": {1: "right thumb", 2: "right index", 3: "right middle", 4: "right ring", 5: "right little",
           6: "left thumb", 7: "left index", 8: "left middle", 9: "left ring", 10: "left little"},
}

MESSAGES: Mapping[str, Mapping[str, str]] = {
    # -- the enrollment steps ----------------------------------------------------
    "ask_nik": {"id": "Masukkan NIK (16 digit), atau kosongkan untuk selesai", "en": "Enter the NIK (16 digits), or leave empty to finish"},
    "nik_invalid": {"id": "NIK tidak valid: {reason}", "en": "NIK is not valid: {reason}"},
    "nik.not_digits": {"id": "NIK hanya boleh berisi angka", "en": "the NIK must contain only digits"},
    "nik.length": {"id": "NIK harus 16 digit", "en": "the NIK must have 16 digits"},
    "nik.unknown_region": {"id": "kode wilayah (6 digit pertama) tidak dikenal", "en": "the region code (first 6 digits) is unknown"},
    "nik.birth_date": {"id": "tanggal lahir dalam NIK tidak mungkin (perempuan: tanggal + 40)", "en": "the birth date in the NIK cannot be (women: day + 40)"},
    "nik.serial": {"id": "nomor urut (4 digit terakhir) dimulai dari 0001", "en": "the serial (last 4 digits) starts at 0001"},
    "nik_decoded": {"id": "NIK {nik}: {sex}, lahir {birth}, diterbitkan di Kec. {kecamatan}, {city}",
                    "en": "NIK {nik}: {sex}, born {birth}, issued in Kec. {kecamatan}, {city}"},
    "confirm_resident": {"id": "Data sesuai dengan penduduk? (y/t)", "en": "Does this match the resident? (y/n)"},
    "sex_M": {"id": "laki-laki", "en": "male"},
    "sex_F": {"id": "perempuan", "en": "female"},
    "prompt_face": {"id": "Foto wajah: minta penduduk duduk tegak di depan latar {background}, lalu tekan tombol ambil",
                    "en": "Face photo: have the resident sit upright before the {background} backdrop, then press capture"},
    "background_red": {"id": "merah", "en": "red"},
    "background_blue": {"id": "biru", "en": "blue"},
    "prompt_finger": {"id": "Sidik jari: letakkan {finger} di kaca pemindai", "en": "Fingerprint: place the {finger} on the scanner glass"},
    "prompt_signature": {"id": "Tanda tangan: minta penduduk menandatangani di bantalan", "en": "Signature: have the resident sign on the pad"},
    "attempt": {"id": "percobaan {attempt} dari {retries}", "en": "attempt {attempt} of {retries}"},
    "capture_ok": {"id": "Berhasil ({what})", "en": "Captured ({what})"},
    "capture_retry": {"id": "Kualitas kurang: {problems}. Ulangi.", "en": "Quality too low: {problems}. Try again."},
    "capture_forced": {"id": "Batas percobaan habis: hasil terbaik disimpan dan ditandai", "en": "Out of attempts: the best capture is kept and marked"},
    "finger_missing_ask": {"id": "{finger} tidak terbaca. Catat pengecualian? {choices}, atau Enter untuk mencoba lagi",
                           "en": "{finger} not read. Record an exception? {choices}, or Enter to try again"},
    "finger_excepted": {"id": "{finger} dicatat sebagai pengecualian: {reason}", "en": "{finger} recorded as an exception: {reason}"},
    "review": {"id": "Periksa: wajah {face}, jari {fingers}, tanda tangan {signature}", "en": "Review: face {face}, fingers {fingers}, signature {signature}"},
    "review_ask": {"id": "Simpan dan segel? (y = ya, f = ulang foto, j N = ulang jari N, s = ulang tanda tangan, b = batal)",
                   "en": "Save and seal? (y = yes, f = retake face, j N = retake finger N, s = retake signature, b = cancel)"},
    "sealed": {"id": "Rekaman disegel dan disimpan ({packet}); {pending} paket menunggu dikirim",
               "en": "Record sealed and stored ({packet}); {pending} packet(s) waiting to be sent"},
    "cancelled": {"id": "Perekaman dibatalkan; tidak ada data yang disimpan", "en": "Enrollment cancelled; nothing was stored"},
    "no_assignment": {"id": "Belum ada penugasan dari pusat; kelurahan: {kelurahan}", "en": "No assignment from the controller yet; kelurahan: {kelurahan}"},
    "assignment": {"id": "Penugasan hari ini: Kel. {kelurahan} ({start}-{end})", "en": "Today's assignment: Kel. {kelurahan} ({start}-{end})"},
    "nik_enrolled_here": {"id": "PERHATIAN: NIK ini sudah direkam di stasiun ini. Periksa sebelum merekam lagi.",
                          "en": "NOTE: this NIK was already recorded at this station. Check before recording again."},
    "ask_operator_id": {"id": "ID petugas", "en": "Operator id"},
    "ask_pin": {"id": "PIN untuk {who}", "en": "PIN for {who}"},
    "face_unusable": {"id": "Foto tidak dapat disimpan: {problems}. Foto tanpa wajah tidak pernah disegel.",
                      "en": "The photo cannot be kept: {problems}. A photo without a face is never sealed."},
    "face_camera_failed": {"id": "Kamera gagal berulang kali.", "en": "The camera failed again and again."},
    "face_exception_ask": {"id": "Pengecualian foto wajah dengan persetujuan supervisor? {choices}, atau Enter untuk mencoba lagi",
                           "en": "Face exception confirmed by a supervisor? {choices}, or Enter to try again"},
    "face_exception_note": {"id": "Catatan (boleh kosong; tanpa data pribadi)", "en": "Note (may be empty; no personal data)"},
    "supervisor_confirm": {"id": "Supervisor: masukkan ID dan PIN Anda untuk menyetujui", "en": "Supervisor: enter your id and PIN to confirm"},
    "face_exception_unavailable": {"id": "Stasiun ini belum punya supervisor terdaftar: pengecualian tidak bisa disetujui",
                                   "en": "This station has no supervisor enrolled: the exception cannot be confirmed"},
    "supervisor_not_self": {"id": "Persetujuan harus dari supervisor lain, bukan petugas yang merekam",
                            "en": "Another supervisor must confirm, not the operator who records"},
    "supervisor_refused": {"id": "ID atau PIN supervisor salah (atau bukan supervisor, atau terkunci)",
                           "en": "Supervisor id or PIN is wrong (or not a supervisor, or locked)"},
    "device_retry_ask": {"id": "Coba lagi? (y/t)", "en": "Try again? (y/n)"},
    "fx.not_detected": {"id": "wajah tidak terdeteksi walau sudah difoto", "en": "face not detected though photographed"},
    "fx.injury": {"id": "wajah terluka / diperban", "en": "face injured / bandaged"},
    "fx.disfigured": {"id": "cacat wajah", "en": "facial disfigurement"},
    "fx.unable_to_present": {"id": "tidak dapat menghadap kamera", "en": "cannot face the camera"},
    "fx.device_failure": {"id": "kamera rusak", "en": "camera failed"},
    "step.face": {"id": "foto wajah", "en": "face photo"},
    "step.signature": {"id": "tanda tangan", "en": "signature"},
    "ok": {"id": "baik", "en": "good"},
    "forced": {"id": "dipaksa", "en": "forced"},
    # -- quality problems ------------------------------------------------------------
    "q.no_face": {"id": "wajah tidak terlihat", "en": "no face seen"},
    "q.multiple_faces": {"id": "lebih dari satu wajah", "en": "more than one face"},
    "q.off_centre": {"id": "wajah tidak di tengah", "en": "face not centred"},
    "q.face_too_small": {"id": "wajah terlalu kecil/jauh", "en": "face too small/far"},
    "q.blurred": {"id": "gambar kabur", "en": "image blurred"},
    "q.underexposed": {"id": "terlalu gelap", "en": "too dark"},
    "q.overexposed": {"id": "terlalu terang", "en": "too bright"},
    "q.eyes_not_visible": {"id": "mata tidak terlihat jelas", "en": "eyes not clearly visible"},
    "q.not_frontal": {"id": "kepala miring atau menoleh: hadap lurus ke kamera", "en": "head tilted or turned: face the camera squarely"},
    "q.wrong_background": {"id": "warna latar salah untuk tahun lahir", "en": "wrong backdrop colour for the birth year"},
    "q.image_unreadable": {"id": "gambar rusak", "en": "image unreadable"},
    "q.no_finger": {"id": "jari tidak terdeteksi", "en": "no finger detected"},
    "q.no_ridges": {"id": "tidak ada pola sidik jari: letakkan jari, bukan benda lain", "en": "no fingerprint ridges: place a finger, nothing else"},
    "q.partial": {"id": "jari hanya sebagian menempel", "en": "finger only partly on the glass"},
    "q.low_contrast": {"id": "kontras rendah (jari kering?)", "en": "low contrast (dry finger?)"},
    "q.smudged": {"id": "garis jari menyatu (jari basah/kotor?)", "en": "ridges run together (wet or dirty finger?)"},
    "q.unclear_ridges": {"id": "garis jari tidak jelas", "en": "ridges unclear"},
    "q.too_short": {"id": "tanda tangan terlalu pendek", "en": "signature too short"},
    "q.too_few_points": {"id": "tanda tangan terlalu sedikit titik", "en": "too few pen points"},
    "q.too_simple": {"id": "tanda tangan terlalu sederhana", "en": "signature too simple"},
    "q.shaky": {"id": "tanda tangan bergetar", "en": "signature shaky"},
    # -- finger exceptions ---------------------------------------------------------------
    "x.amputated": {"id": "diamputasi", "en": "amputated"},
    "x.bandaged": {"id": "diperban", "en": "bandaged"},
    "x.scarred": {"id": "bekas luka / aus", "en": "scarred / worn"},
    "x.deformed": {"id": "cacat bentuk", "en": "deformed"},
    "x.unable_to_present": {"id": "tidak dapat diletakkan", "en": "cannot be presented"},
    "x.device_failure": {"id": "alat gagal membaca", "en": "device failed to read"},
    # -- device and station errors -------------------------------------------------------
    "e.not_connected": {"id": "{device} tidak tersambung: periksa kabel", "en": "{device} not connected: check the cable"},
    "e.unplugged": {"id": "{device} terlepas: sambungkan kembali", "en": "{device} unplugged: reconnect it"},
    "e.timeout": {"id": "{device} tidak menjawab", "en": "{device} does not answer"},
    "e.busy": {"id": "{device} sedang dipakai program lain", "en": "{device} is in use by another program"},
    "e.no_finger": {"id": "tidak ada jari di pemindai", "en": "no finger on the scanner"},
    "e.trainer_unavailable": {"id": "Mode latihan hanya dengan perangkat tiruan", "en": "Trainer mode needs emulated devices"},
    "e.pen_stuck": {"id": "pena {device} menempel tanpa menulis: angkat pena, bersihkan bantalan, lalu ulangi",
                    "en": "the {device} pen stays down without writing: lift the pen, wipe the pad, then retry"},
    "e.capture_failed": {"id": "{device} gagal mengambil gambar", "en": "{device} failed to capture"},
    "e.protocol_error": {"id": "{device} mengirim data rusak", "en": "{device} sent garbled data"},
    "e.bad_checksum": {"id": "{device} mengirim data rusak (checksum)", "en": "{device} sent garbled data (checksum)"},
    "e.device_error": {"id": "{device} bermasalah", "en": "{device} has a problem"},
    "e.bad_address": {"id": "{device} menjawab dari alamat lain: periksa konfigurasi", "en": "{device} answered from another address: check the config"},
    "e.wrong_password": {"id": "kata sandi {device} salah: periksa konfigurasi", "en": "{device} password is wrong: check the config"},
    "e.command_failed": {"id": "{device} menolak perintah; coba lagi atau hubungi teknisi", "en": "{device} refused the command; try again or call a technician"},
    "e.duplicate_finger": {"id": "sidik jari ini sudah tersimpan di {device}", "en": "this finger is already stored in the {device}"},
    "e.driver_not_found": {"id": "driver {device} tidak terpasang; hubungi teknisi", "en": "the {device} driver is not installed; call a technician"},
    "e.driver_config": {"id": "pengaturan {device} salah; hubungi teknisi", "en": "the {device} settings are wrong; call a technician"},
    "e.station_error": {"id": "Stasiun belum siap: {detail}", "en": "The station is not ready: {detail}"},
    "e.config_error": {"id": "Konfigurasi stasiun salah; hubungi teknisi", "en": "The station configuration is wrong; call a technician"},
    "e.uplink_error": {"id": "Koneksi ke pusat bermasalah; data tetap tersimpan aman", "en": "The link to the controller failed; records stay safely stored"},
    "e.key_file": {"id": "Kunci stasiun tidak dapat dipakai; hubungi teknisi", "en": "The station's keys cannot be used; call a technician"},
    "e.provisioning": {"id": "Paket pendaftaran stasiun tidak valid; hubungi teknisi", "en": "The station's provisioning bundle is not valid; call a technician"},
    "e.enrollment_aborted": {"id": "Perekaman dihentikan; tidak ada data yang disimpan", "en": "Enrollment stopped; nothing was stored"},
    "e.low_disk_space": {"id": "Ruang disk tinggal {free_mib} MiB (perlu {need_mib} MiB): kirim data dulu sebelum merekam",
                         "en": "Only {free_mib} MiB of disk left (need {need_mib} MiB): upload before recording more"},
    "e.outbox_state": {"id": "Paket ini tidak dapat diproses begitu (tidak ada atau keadaannya lain)",
                       "en": "That packet cannot take this action (not there, or in another state)"},
    "e.outbox_error": {"id": "Penyimpanan lokal bermasalah; hubungi teknisi", "en": "Local storage failed; call a technician"},
    "e.login_failed": {"id": "ID atau PIN salah (sisa percobaan: {left})", "en": "Wrong id or PIN ({left} tries left)"},
    "e.login_locked": {"id": "Terkunci karena PIN salah berulang kali; coba lagi dalam {minutes} menit atau minta supervisor membuka",
                       "en": "Locked after repeated wrong PINs; try again in {minutes} min or ask a supervisor to unlock"},
    "e.login_not_allowed": {"id": "Akun ini tidak berhak ({role})", "en": "This account may not do that ({role})"},
    "e.operator_error": {"id": "Akun petugas tidak dapat diubah", "en": "The operator account could not be changed"},
    "e.operator_supervisor_needed": {"id": "Akun baru dibuat oleh supervisor (isi ID dan PIN-nya)",
                                     "en": "A supervisor makes new accounts (give their id and PIN)"},
    "e.operator_first_supervisor": {"id": "Akun pertama di stasiun harus supervisor",
                                    "en": "The first account on a station must be a supervisor"},
    "e.operator_exists": {"id": "Petugas {operator} sudah ada", "en": "Operator {operator} already exists"},
    "e.operator_last_supervisor": {"id": "Supervisor terakhir tidak dapat menghapus dirinya sendiri",
                                   "en": "The last supervisor cannot remove themself"},
    "e.operator_unknown": {"id": "Tidak ada petugas {operator}", "en": "No operator {operator}"},
    "e.operator_bad_id": {"id": "ID petugas 1-40 huruf kecil, angka, '.', '_' atau '-'",
                          "en": "An operator id is 1-40 lower-case letters, digits, '.', '_' or '-'"},
    "e.operator_bad_pin": {"id": "PIN terdiri dari 4 sampai 12 angka", "en": "A PIN is 4 to 12 digits"},
    "e.operator_finger_full": {"id": "Pustaka sidik jari pemindai sudah penuh",
                               "en": "The scanner's finger library is full"},
    "e.operator_no_finger_scanner": {"id": "Pemindai sidik jari ini tidak dapat menyimpan jari petugas",
                                     "en": "This fingerprint scanner cannot keep operator fingers"},
    "device.camera": {"id": "kamera", "en": "camera"},
    "device.fingerprint": {"id": "pemindai sidik jari", "en": "fingerprint scanner"},
    "device.signature": {"id": "bantalan tanda tangan", "en": "signature pad"},
    "device.indicators": {"id": "lampu/tombol", "en": "lights/buttons"},
}


def known(msg_id: str) -> bool:
    return msg_id in MESSAGES or msg_id in KIOSK_MESSAGES


def t(language: str, msg_id: str, **params: object) -> str:
    entry = MESSAGES.get(msg_id) or KIOSK_MESSAGES.get(msg_id)
    if entry is None:
        text = msg_id
    else:
        text = entry.get(language) or entry.get("en") or msg_id
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def finger_name(language: str, position: int) -> str:
    return FINGERS.get(language, FINGERS["en"]).get(position, f"#{position}")


def problems(language: str, ids: tuple[str, ...] | list[str]) -> str:
    return ", ".join(t(language, f"q.{p}") for p in ids)
