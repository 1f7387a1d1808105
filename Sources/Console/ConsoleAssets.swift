/// The console's stylesheet and script, served from the binary (no external assets).
enum ConsoleAssets {
    static let css = """
    :root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--accent:#1f5fbf;--risk:#8a5a00;--riskbg:#fff3d6;--bad:#a3160f;--badbg:#fde3e1;--ok:#196b2c;--okbg:#e3f4e6;--paused:#4b4f8f;--pausedbg:#e8e9fb}
    *{box-sizing:border-box}
    body{margin:0;font:15px/1.45 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
    a{color:var(--accent)}
    a:focus,button:focus,input:focus,select:focus,textarea:focus,tr:focus{outline:3px solid #ffbf47;outline-offset:1px}
    .skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:6px;z-index:9}
    header{background:#14213d;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:8px 18px;align-items:center}
    header a,header button{color:#fff}
    header .brand{font-weight:700;margin-right:auto}
    header nav{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:center}
    header nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
    header form{display:inline;margin:0}
    header button{background:none;border:1px solid #8da2c9;border-radius:4px;padding:2px 8px;font:inherit;cursor:pointer}
    .who{color:#c9d4ea;font-size:13px}
    main{max-width:1200px;margin:0 auto;padding:14px 16px 40px}
    h1{font-size:22px;margin:6px 0 12px}h2{font-size:17px;margin:18px 0 8px}
    .card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 14px;margin:0 0 14px}
    .flash{padding:10px 12px;border-radius:6px;margin:0 0 12px;background:var(--okbg);color:var(--ok);border:1px solid #b8dfc0}
    .flash.error{background:var(--badbg);color:var(--bad);border-color:#f3b7b2}
    table{border-collapse:collapse;width:100%;background:var(--card)}
    th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
    th{font-size:13px;color:var(--muted);font-weight:600;background:#eef1f5}
    tbody tr.sel{background:#eaf1ff}
    .clock{display:inline-block;padding:1px 6px;border-radius:4px;font-size:13px;white-space:nowrap}
    .clock.on-time{background:var(--okbg);color:var(--ok)}
    .clock.at-risk{background:var(--riskbg);color:var(--risk);font-weight:600}
    .clock.breached{background:var(--badbg);color:var(--bad);font-weight:700}
    .clock.paused{background:var(--pausedbg);color:var(--paused)}
    .state{font-size:13px;white-space:nowrap}
    .muted{color:var(--muted);font-size:13px}
    .filters{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:end;margin-bottom:10px}
    .filters label{display:flex;flex-direction:column;font-size:13px;color:var(--muted)}
    input,select,textarea,button{font:inherit}
    input[type=text],input[type=password],select,textarea{padding:6px 8px;border:1px solid #aeb6c4;border-radius:4px;background:#fff;max-width:100%}
    textarea{width:100%;min-height:120px}
    button.primary,.actions button{background:var(--accent);color:#fff;border:0;border-radius:4px;padding:7px 14px;cursor:pointer}
    .actions form{border-top:1px solid var(--line);padding:10px 0}
    .actions form:first-child{border-top:0}
    .actions label{display:block;font-size:13px;color:var(--muted);margin:4px 0}
    dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
    dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
    .problem{white-space:pre-wrap;font-size:16px}
    ol.timeline{list-style:none;padding:0;margin:0}
    ol.timeline li{border-left:3px solid var(--line);padding:4px 0 8px 12px;margin-left:4px}
    ol.timeline li .t{font-weight:600}
    ol.timeline li .data{font-size:13px;color:var(--muted);word-break:break-word}
    .pager{display:flex;gap:14px;margin-top:10px}
    .grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:14px}
    .suggest button{margin:2px 4px 2px 0;background:#fff;color:var(--accent);border:1px solid var(--accent);border-radius:4px;padding:4px 8px;cursor:pointer}
    .login{max-width:360px;margin:40px auto}
    .login label{display:block;margin:10px 0 4px}
    .login input{width:100%}
    @media (max-width:760px){
      .grid{grid-template-columns:1fr}
      table.cases thead{display:none}
      table.cases tr{display:block;border-bottom:2px solid var(--line);padding:6px 0}
      table.cases td{display:block;border:0;padding:2px 8px}
      table.cases td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:12px}
      header{padding:8px 10px}main{padding:10px}
    }
    """

    /// Keyboard help: `j`/`k` move through a list, Enter opens the selected case, `/`
    /// focuses the filter. Everything works without it (links, forms, accesskeys).
    static let js = """
    (function(){
      var rows=[].slice.call(document.querySelectorAll('tr[data-href]'));var i=-1;
      function sel(n){if(!rows.length)return;if(i>=0)rows[i].classList.remove('sel');i=Math.max(0,Math.min(rows.length-1,n));rows[i].classList.add('sel');rows[i].focus();}
      rows.forEach(function(r,n){r.addEventListener('click',function(e){if(e.target.closest('a,button,input,select,textarea,form'))return;location.href=r.getAttribute('data-href');});});
      document.addEventListener('keydown',function(e){
        var t=e.target.tagName;if(t==='INPUT'||t==='TEXTAREA'||t==='SELECT'||e.ctrlKey||e.metaKey||e.altKey)return;
        if(e.key==='j'){sel(i+1);e.preventDefault();}
        else if(e.key==='k'){sel(i-1);e.preventDefault();}
        else if(e.key==='Enter'&&i>=0&&document.activeElement===rows[i]){location.href=rows[i].getAttribute('data-href');}
        else if(e.key==='/'){var f=document.getElementById('filter-state');if(f){f.focus();e.preventDefault();}}
      });
    })();
    """
}
