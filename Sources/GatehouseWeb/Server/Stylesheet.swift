/// The one stylesheet: the NHS.UK design system's visual language (Frutiger-like system fonts,
/// its blue, yellow focus ring, error summaries) written afresh in plain CSS. Works at 320 px.
enum Stylesheet {
    static let css = """
        :root{--blue:#005eb8;--dark:#003087;--text:#212b32;--grey:#4c6272;--pale:#f0f4f5;--red:#d5281b;
        --green:#007f3b;--yellow:#ffeb3b;--white:#fff}
        *{box-sizing:border-box}
        body{margin:0;font-family:Arial,"Helvetica Neue",sans-serif;font-size:1.1875rem;line-height:1.5;
        color:var(--text);
        background:var(--pale)}
        .wrap{max-width:1100px;margin:0 auto;padding:0 16px}
        .skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:var(--yellow);color:#000;
        padding:8px}
        .top{background:var(--blue);color:var(--white);padding:12px 0}
        .top .wrap{display:flex;flex-wrap:wrap;gap:12px;align-items:center;justify-content:space-between}
        .brand{font-weight:700;font-size:1.5rem}
        nav a,.top a{color:var(--white);margin-right:16px;font-weight:700}
        .signout{display:flex;gap:8px;align-items:center;margin:0}.who{font-size:1rem}
        main{background:var(--white);padding:24px 16px;margin-top:24px;margin-bottom:24px}
        h1{font-size:2rem;line-height:1.2;margin:0 0 24px}h2{font-size:1.5rem}
        a{color:var(--blue)}a:visited{color:#330072}
        a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:4px solid var(--yellow);
        outline-offset:0;box-shadow:0 4px 0 #000;background-color:var(--yellow);color:#000}
        label{display:block;font-weight:700;margin:16px 0 4px}
        input,select,textarea{font:inherit;border:2px solid var(--text);padding:4px 8px;width:100%;max-width:32em;
        background:var(--white)}
        button{font:inherit;font-weight:700;background:var(--green);color:var(--white);border:0;border-radius:4px;
        padding:8px 16px;margin-top:16px;box-shadow:0 4px 0 #00401e;cursor:pointer}
        button.link{background:none;box-shadow:none;color:var(--white);text-decoration:underline;margin:0;padding:0}
        .narrow{max-width:36em}
        .search{display:grid;grid-template-columns:repeat(auto-fit,minmax(14em,1fr));gap:0 16px;align-items:end}
        .search .actions{display:flex;gap:16px;align-items:center}
        .error-summary{border:4px solid var(--red);padding:16px;margin-bottom:24px}
        .error-summary h2{margin-top:0}
        .panel{background:var(--green);color:var(--white);padding:24px;margin-bottom:24px}
        table.list{border-collapse:collapse;width:100%;font-size:1rem;display:block;overflow-x:auto}
        table.list th,table.list td{text-align:left;border-bottom:1px solid #d8dde0;padding:8px;vertical-align:top}
        .ods{color:var(--grey);font-size:.9em}.count{color:var(--grey)}
        .tag{display:inline-block;padding:2px 8px;border:1px solid;font-size:.9rem}
        .good{color:var(--green)}.bad,.warn{color:var(--red)}.wait{color:var(--grey)}
        code{overflow-wrap:anywhere;font-size:.9em}.digest{font-size:.75rem}
        dl.summary{display:grid;grid-template-columns:minmax(8em,max-content) 1fr;gap:4px 16px}
        dl.summary dt{font-weight:700}dl.summary dd{margin:0}
        .qr{display:block;width:240px;height:240px;image-rendering:pixelated}
        .visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
        .hint{color:var(--grey);font-size:1rem}
        ol.timeline{padding-left:1.5em}
        iframe.preview{width:100%;height:70vh;border:2px solid var(--text);background:var(--white)}
        ol.timeline li{margin-bottom:8px}
        """
}
