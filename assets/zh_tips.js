() => {
  // Under zh-CN, the tips that Gradio and plotly hard-code in English (issue 16.8): plotly's
  // toolbar (its own locale mechanism, plus a pass over buttons drawn before it was registered),
  // a few of Gradio's button labels that its i18n does not cover, the pop-ups' titles and the
  // progress text of Gradio's status tracker ("queue: 1/2 |", "processing |").
  if (!/^zh/i.test(navigator.language || "")) return;
  const ZH = {
    "Download plot as a PNG": "下载为 PNG 图片", "Download plot": "下载图", "Zoom": "缩放", "Pan": "平移",
    "Zoom in": "放大", "Zoom out": "缩小", "Autoscale": "自动缩放", "Reset axes": "重置坐标轴",
    "Box Select": "框选", "Lasso Select": "套索选择", "Reset view": "重置视图",
    "Toggle Spike Lines": "显示/隐藏辅助线", "Show closest data on hover": "悬停时显示最近的数据",
    "Compare data on hover": "悬停时比较数据", "Double-click to zoom back out": "双击恢复原来的缩放",
    "Taking snapshot - this may take a few seconds": "正在生成图片，请稍候",
    "Snapshot succeeded": "图片已生成", "Sorry, there was a problem downloading your snapshot!": "抱歉，下载图片时出了问题！",
    "More tabs": "更多标签页", "Close": "关闭", "Gradio footer navigation": "Gradio 页脚导航",
    "Empty value": "空值", "Copy": "复制", "Copied": "已复制", "Clear": "清除", "Fullscreen": "全屏",
    "Exit fullscreen mode": "退出全屏", "Download": "下载", "Share": "分享",
    // Gradio's own hard-coded labels (not i18n keys in 6.31): sliders, tables, file boxes
    "Reset to default value": "恢复默认值", "Copy table data": "复制表格数据", "Copied to clipboard": "已复制到剪贴板",
    "Table actions": "表格操作", "Static column": "固定列", "Open cell menu": "打开单元格菜单",
    "Click to upload or drop files": "点击上传或拖放文件", "File upload": "上传文件",
  };
  // Labels Gradio and plotly build around a name: "range slider for 层数" and the like.
  const PATTERNS = [[/^number input for (.*)$/s, "数字输入：$1"], [/^range slider for (.*)$/s, "滑块：$1"],
                    [/^Produced with Plotly\.js(.*)$/s, "由 Plotly.js 生成$1"]];
  const zhOf = (value) => {
    if (ZH[value]) return ZH[value];
    for (const [pattern, zh] of PATTERNS) if (pattern.test(value)) return value.replace(pattern, zh);
    return null;
  };
  let registered = false;
  const translate = () => {
    if (!registered && window.Plotly && window.Plotly.register) {
      window.Plotly.register({moduleType: "locale", name: "zh-CN", dictionary: ZH, format: {}});
      window.Plotly.setPlotConfig({locale: "zh-CN"});
      registered = true;
    }
    for (const attr of ["data-title", "title", "aria-label", "placeholder"]) {
      document.querySelectorAll(`[${attr}]`).forEach((el) => {
        const zh = zhOf(el.getAttribute(attr));
        if (zh) el.setAttribute(attr, zh);
      });
    }
  };
  // Pop-up titles: Gradio 6.31's client reads the error's title from a field its server never
  // fills, so every error pop-up says "Error" whatever gr.Error(title=...) says.
  const TITLES = {"Error": "错误", "Warning": "警告", "Info": "提示"};
  const titles = () => document.querySelectorAll(".toast-title").forEach((el) => {
    for (const node of el.childNodes) {
      const zh = node.nodeType === 3 && TITLES[node.textContent.trim()];
      if (zh) node.textContent = zh + " ";
    }
  });
  // Gradio's progress text: its status tracker writes "queue: 1/2 |" and "processing |" as plain
  // template strings, not i18n keys, so no gr.I18n entry can reach them. Svelte caches the text it
  // last wrote and only rewrites a node when its own value changes; each rewrite is translated again.
  const STATUS = [[/^queue: (\d+)\/(\d*) \|$/, "排队：$1/$2 |"], [/^processing \|$/, "处理中 |"],
                  [/^Loading\.\.\.$/, "加载中…"], [/^from cache$/, "来自缓存"]];
  const statusText = (node) => {
    const value = (node.nodeValue || "").trim();
    for (const [pattern, zh] of STATUS) {
      if (pattern.test(value)) { node.nodeValue = value.replace(pattern, zh); return; }
    }
  };
  const inTracker = (node) => {
    const el = node.nodeType === 3 ? node.parentElement : node;
    return el && el.closest && el.closest("[data-testid=status-tracker]");
  };
  const statuses = (records) => {
    for (const record of records) {
      if (record.type === "characterData") { if (inTracker(record.target)) statusText(record.target); continue; }
      for (const added of record.addedNodes) {
        if (added.nodeType === 3) { if (inTracker(added)) statusText(added); continue; }
        if (added.nodeType !== 1) continue;
        const trackers = inTracker(added) ? [added] : added.querySelectorAll("[data-testid=status-tracker]");
        for (const tracker of trackers) {
          const walker = document.createTreeWalker(tracker, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) statusText(walker.currentNode);
        }
      }
    }
  };
  new MutationObserver((records) => { titles(); statuses(records); })
    .observe(document.body, {childList: true, subtree: true, characterData: true});
  translate();
  setInterval(translate, 500);
}
