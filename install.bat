@echo off
rem Installs the app into .venv beside this file and provisions the models; idempotent.
rem   install.bat          install (a second run changes nothing)
rem   install.bat --run    install, then start the app
rem   install.bat --dev    also install the test tools
rem Models come from the sources pinned in models\models.json, or from the folder in %%REID_MODELS_DIR%%.
setlocal EnableExtensions EnableDelayedExpansion
cd /d "%~dp0"

set RUN=0
set DEV=0
:args
if "%~1"=="" goto argsdone
if /i "%~1"=="--run" set RUN=1
if /i "%~1"=="--dev" set DEV=1
shift
goto args
:argsdone

set PY=
where py >nul 2>nul && set PY=py -3
if not defined PY (where python >nul 2>nul && set PY=python)
if not defined PY (
  echo install.bat: Python 3.10 or newer is needed; install it from python.org ^(tick "Add to PATH"^) and run again. 1>&2
  exit /b 1
)
%PY% -c "import sys; sys.exit(sys.version_info < (3, 10))"
if errorlevel 1 (
  echo install.bat: Python 3.10 or newer is needed. 1>&2
  exit /b 1
)

if not exist ".venv\Scripts\python.exe" (
  echo Creating the virtual environment in .venv ...
  %PY% -m venv .venv
  if errorlevel 1 ( echo install.bat: could not create .venv 1>&2 & exit /b 1 )
)
set VPY=.venv\Scripts\python.exe

set REQ=requirements.txt
if "%DEV%"=="1" set REQ=requirements-dev.txt
set STAMP=.venv\.installed-%REQ:.txt=%
rem Reinstall only when the requirement files or pyproject.toml changed since the last successful install.
for /f "usebackq delims=" %%H in (`%VPY% -c "import hashlib; print(hashlib.sha256(open('requirements.txt','rb').read()+open('%REQ%','rb').read()+open('pyproject.toml','rb').read()).hexdigest())"`) do set SUM=%%H
set OLD=
if exist "%STAMP%" set /p OLD=<"%STAMP%"
if "%OLD%"=="%SUM%" (
  echo Packages are up to date.
) else (
  echo Installing packages from %REQ% ^(the first time takes a few minutes: PyTorch is large^) ...
  %VPY% -m pip install --disable-pip-version-check -q --upgrade pip
  %VPY% -m pip install --disable-pip-version-check -r %REQ%
  if errorlevel 1 ( echo install.bat: package installation failed ^(see above^). 1>&2 & exit /b 1 )
  rem The project itself, editable: Algorithm and GUI import from anywhere, and edits apply without reinstalling.
  %VPY% -m pip install --disable-pip-version-check -q -e . --no-deps
  if errorlevel 1 ( echo install.bat: could not install the project ^(see above^). 1>&2 & exit /b 1 )
  > "%STAMP%" echo %SUM%
)

echo Checking models ...
%VPY% -m Algorithm models fetch
if errorlevel 1 ( echo install.bat: models could not be provisioned ^(see above^). 1>&2 & exit /b 1 )
echo Installed. Start the app with: .venv\Scripts\python.exe GUI\main.py

if "%RUN%"=="1" %VPY% GUI\main.py
exit /b 0
