"""The casework console in a real headless Chromium (Selenium over Debian's chromedriver).

Run by scripts/console-check, which starts PostgreSQL, the workers and `dispatcher
console`, and passes what this needs as JSON in $CONSOLE_CHECK_CONFIG (not argv: passwords stay out of `ps`): the console's URL, the
logins, the case to break the clock of. Each scenario of issue 15 is one function; the
run prints one line per scenario and `N passed, N failed` at the end, exiting non-zero
when any failed. Screenshots of the inbox, a case page and the leader view go to docs/.
"""
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

config = json.loads(os.environ["CONSOLE_CHECK_CONFIG"])
BASE = config["url"].rstrip("/")
SHOTS = config.get("screenshots")


def browser(width=1280, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = config.get("chromium", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--lang=zh-CN", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(config.get("chromedriver", "/usr/bin/chromedriver")), options=options)


def gone(page):
    """The old page's root is no longer in the document. Chrome may answer a question about
    a node of a page being replaced with an inspector error ("Node with given id does not
    belong to the document") instead of a stale-element error: that means gone too."""
    def check(_):
        try:
            page.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error) or "No node with given id" in str(error):
                return True
            raise
    return check


def submit(driver, element):
    """Clicks a button (or presses a key on it) and waits for the next page to load."""
    page = driver.find_element(By.TAG_NAME, "html")
    element() if callable(element) else element.click()
    WebDriverWait(driver, 15).until(gone(page))
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def login(driver, name):
    driver.get(BASE + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(config["passwords"][name])
    submit(driver, driver.find_element(By.ID, "login-submit"))
    assert "/login" not in driver.current_url, f"{name} could not log in: {text_of(driver, 'flash')}"


def text_of(driver, element_id):
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def fetch(driver, path, method="GET", body=None):
    """The status and body of a request made with the browser's cookies (Selenium cannot see statuses)."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    request = urllib.request.Request(BASE + path, method=method, data=body, headers={"Cookie": cookie})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.read().decode("utf-8", "replace"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), error.headers


def case_state(driver):
    return driver.find_element(By.ID, "case-state").get_attribute("data-state")


def inbox_rows(driver):
    return driver.find_elements(By.CSS_SELECTOR, "table.cases tbody tr[data-case-id]")


shared = {}


def officer_works_a_case():
    """An officer logs in, sees only their task force, signs off, suspends and resumes, answers."""
    officer, task_force = config["officer"], config["task_force"]
    driver = browser()
    try:
        login(driver, officer)
        rows = inbox_rows(driver)
        assert rows, "the officer's inbox is empty"
        forces = {row.get_attribute("data-task-force") for row in rows}
        assert forces == {task_force}, f"the inbox shows task forces {forces}, expected only {task_force}"
        clocks = driver.find_elements(By.CSS_SELECTOR, "[data-clock]")
        assert clocks, "no clocks in the inbox"
        if SHOTS:
            driver.save_screenshot(f"{SHOTS}/console-inbox.png")
        waiting = [row for row in rows if row.get_attribute("data-state") == "signoff"]
        assert len(waiting) >= 2, "the officer needs two cases waiting for sign-off"
        case_id = waiting[0].get_attribute("data-case-id")
        shared["case"], shared["spare"] = case_id, waiting[1].get_attribute("data-case-id")
        first = rows[0].get_attribute("data-case-id")
        # Keyboard: j selects the first row, Enter opens it.
        driver.find_element(By.TAG_NAME, "body").send_keys("j")
        submit(driver, lambda: driver.switch_to.active_element.send_keys(Keys.ENTER))
        assert driver.current_url.endswith(f"/cases/{first}"), f"j + Enter opened {driver.current_url}"
        driver.get(f"{BASE}/cases/{case_id}")
        shared["text"] = driver.find_element(By.ID, "case-text").text
        assert driver.find_elements(By.CSS_SELECTOR, "#routing-terms li"), "no routing terms"
        assert driver.find_element(By.ID, "routing-confidence").text.endswith("%"), "no routing confidence"
        submit(driver, driver.find_element(By.ID, "do-sign-off"))
        assert case_state(driver) == "working", f"after sign-off the case is {case_state(driver)}: {text_of(driver, 'flash')}"
        driver.find_element(By.ID, "suspend-reason").send_keys("等待企业补充材料")
        submit(driver, driver.find_element(By.ID, "do-suspend"))
        assert case_state(driver) == "suspended", f"after suspend the case is {case_state(driver)}: {text_of(driver, 'flash')}"
        submit(driver, driver.find_element(By.ID, "do-resume"))
        assert case_state(driver) == "working", f"after resume the case is {case_state(driver)}: {text_of(driver, 'flash')}"
        draft = driver.find_element(By.ID, "answer-text").get_attribute("value")
        assert draft.strip(), "the answer is not pre-filled with the advisor's draft"
        if SHOTS:
            driver.save_screenshot(f"{SHOTS}/console-case.png")
        driver.find_element(By.ID, "answer-text").send_keys("（已核实）")
        submit(driver, driver.find_element(By.ID, "do-answer"))
        assert case_state(driver) == "answered", f"after answer the case is {case_state(driver)}: {text_of(driver, 'flash')}"
        events = [li.get_attribute("data-event") for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]
        for event in ("held_for_people", "signed_off", "suspended", "resumed", "answered"):
            assert event in events, f"the ledger shows no {event}: {events}"
        # The switch to English and back.
        submit(driver, driver.find_element(By.ID, "language"))
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "the language switch did not switch"
        assert "Ledger" in driver.page_source
        submit(driver, driver.find_element(By.ID, "language"))
        # Phone width: nothing wider than the screen.
        driver.set_window_size(390, 844)
        driver.get(BASE + "/")
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the inbox is {overflow}px wider than a phone's screen"
        shared["officer_cookies"] = driver.get_cookies()
    finally:
        driver.quit()


def other_officer_cannot_open_it():
    """A second officer of another task force cannot open that case by URL (403 or 404, nothing leaked)."""
    driver = browser()
    try:
        login(driver, config["other_officer"])
        driver.get(f"{BASE}/cases/{shared['case']}")
        assert shared["text"][:12] not in driver.page_source, "the page shows the other task force's case"
        status, body, _ = fetch(driver, f"/cases/{shared['case']}")
        assert status in (403, 404), f"status {status}, expected 403 or 404"
        assert shared["text"][:12] not in body, "the body contains the case's text"
        assert f"#{shared['case']}" not in body, "the body names the case"
    finally:
        driver.quit()


def forged_form_is_refused():
    """A forged form without the CSRF token is refused, and the case stays as it was."""
    driver = browser()
    try:
        login(driver, config["officer"])
        driver.get(f"{BASE}/cases/{shared['spare']}")
        assert case_state(driver) == "signoff"
        submit(driver, lambda: driver.execute_script("""
            var f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
            document.body.appendChild(f); f.submit();""", f"/cases/{shared['spare']}/sign-off"))
        assert "CSRF" in driver.page_source or "校验码" in driver.page_source, "the forged form was not refused"
        status, _, _ = fetch(driver, f"/cases/{shared['spare']}/sign-off", method="POST", body=b"")
        assert status == 403, f"a post without the token got {status}"
        driver.get(f"{BASE}/cases/{shared['spare']}")
        assert case_state(driver) == "signoff", f"the forged form changed the case to {case_state(driver)}"
    finally:
        driver.quit()


def operator_assigns_from_triage():
    """An operator assigns from triage with one click on a suggestion; the case leaves the backlog."""
    driver = browser()
    try:
        login(driver, config["operator"])
        driver.get(BASE + "/triage")
        rows = driver.find_elements(By.CSS_SELECTOR, "#triage tbody tr[data-case-id]")
        assert rows, "the triage desk is empty"
        case_id = rows[0].get_attribute("data-case-id")
        buttons = rows[0].find_elements(By.CSS_SELECTOR, "button[data-to]")
        assert len(buttons) == 3, f"{len(buttons)} suggestions, expected the classifier's top three"
        target = buttons[0].get_attribute("data-to")
        submit(driver, buttons[0])
        assert not driver.find_elements(By.CSS_SELECTOR, f"#triage tr[data-case-id='{case_id}']"), "the case is still in triage"
        driver.get(f"{BASE}/cases/{case_id}")
        assert case_state(driver) != "triage", f"case {case_id} is still in triage"
        events = [li.get_attribute("data-event") for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")]
        assert "rerouted" in events or "assigned" in events, f"no assignment in the ledger: {events}"
        shared["assigned"] = (case_id, target)
    finally:
        driver.quit()


def leader_sees_the_breach():
    """A leader sees the breach (a case whose solution clock ran out) and this month's rates."""
    driver = browser()
    try:
        login(driver, config["leader"])
        driver.get(BASE + "/leader")
        breached = config["breached_case"]
        rows = driver.find_elements(By.CSS_SELECTOR, f"#solution-breached tr[data-case-id='{breached}']")
        assert rows, f"case {breached} is not among the breached"
        assert rows[0].find_elements(By.CSS_SELECTOR, "[data-status='breached']"), "the breached clock is not marked"
        assert driver.find_elements(By.CSS_SELECTOR, "#kpis tbody tr"), "no rates on the leader view"
        if SHOTS:
            driver.save_screenshot(f"{SHOTS}/console-leader.png")
    finally:
        driver.quit()


def logout_ends_the_session():
    """Logout ends the session: the old cookie no longer opens a page."""
    driver = browser()
    try:
        login(driver, config["officer"])
        old = driver.get_cookies()
        submit(driver, driver.find_element(By.ID, "logout"))
        assert "/login" in driver.current_url, f"after logout the browser is at {driver.current_url}"
        driver.get(f"{BASE}/cases/{shared['case']}")
        assert "/login" in driver.current_url, "after logout a case page still opens"
        for cookie in old:
            driver.add_cookie({"name": cookie["name"], "value": cookie["value"], "path": "/"})
        status, body, headers = fetch(driver, "/")
        assert status in (303, 401) and "/login" in (headers.get("Location") or "/login"), f"the old session cookie still works ({status})"
    finally:
        driver.quit()


scenarios = [officer_works_a_case, other_officer_cannot_open_it, forged_form_is_refused, operator_assigns_from_triage,
             leader_sees_the_breach, logout_ends_the_session]
passed = failed = 0
for scenario in scenarios:
    started = time.time()
    try:
        scenario()
        passed += 1
        print(f"  ok    {scenario.__doc__.splitlines()[0]} ({time.time() - started:.1f} s)")
    except Exception as error:  # noqa: BLE001 - every failure is reported, the run goes on
        failed += 1
        print(f"  FAIL  {scenario.__doc__.splitlines()[0]}: {error}")
        traceback.print_exc(limit=2)
print(f"console-check: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
