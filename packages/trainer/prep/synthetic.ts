// Synthetic zh_cls_fudan-news-like data: 20 categories, Chinese news-style texts drawn from a
// per-category vocabulary mixed with shared filler, category list = true label + distractors in
// random order. Fully determined by the seed (mulberry32), so tests and demos can regenerate it.

import type { TaskRow } from "./prompt.js";

const VOCAB: Record<string, readonly string[]> = {
  Art: ["画展", "油画", "雕塑", "美术馆", "书法", "艺术家", "水墨画", "展览", "画家", "色彩", "版画", "创作"],
  Literature: ["小说", "诗歌", "作家", "散文", "文学奖", "出版社", "读者", "长篇", "诗人", "文学", "作品集", "鲁迅"],
  Education: ["学校", "教师", "学生", "课程", "高考", "教育部", "校长", "教材", "大学", "招生", "课堂", "学费"],
  Philosophy: ["哲学", "思想", "伦理", "辩证法", "形而上学", "孔子", "理性", "认识论", "哲学家", "唯物主义", "道德", "存在"],
  History: ["朝代", "史料", "考古", "古代", "王朝", "历史学家", "文物", "遗址", "清朝", "唐代", "史书", "年代"],
  Space: ["卫星", "火箭", "航天", "宇航员", "轨道", "发射", "太空", "月球", "飞船", "天文", "探测器", "空间站"],
  Energy: ["石油", "电力", "煤炭", "天然气", "能源", "发电厂", "核电", "太阳能", "油田", "电网", "节能", "燃料"],
  Electronics: ["芯片", "电路", "半导体", "晶体管", "电子", "元器件", "集成电路", "传感器", "电容", "显示屏", "家电", "电子管"],
  Communication: ["通信", "电话", "光纤", "移动", "基站", "网络", "邮电", "信号", "无线", "电信", "宽带", "卫星通信"],
  Computer: ["计算机", "软件", "程序", "数据库", "算法", "操作系统", "编程", "电脑", "服务器", "互联网", "病毒", "代码"],
  Mine: ["矿山", "煤矿", "矿工", "采矿", "矿井", "矿石", "开采", "井下", "瓦斯", "铁矿", "矿产", "金矿"],
  Transport: ["铁路", "公路", "交通", "列车", "机场", "港口", "运输", "航班", "高速", "车站", "货运", "地铁"],
  Environment: ["污染", "环保", "生态", "排放", "绿化", "废水", "森林", "空气质量", "环境", "治理", "垃圾", "湿地"],
  Agriculture: ["农业", "粮食", "农民", "种植", "小麦", "水稻", "化肥", "丰收", "农田", "耕地", "灌溉", "农村"],
  Economy: ["经济", "市场", "企业", "投资", "银行", "股票", "价格", "贸易", "增长", "利润", "金融", "出口"],
  Law: ["法院", "法律", "律师", "判决", "起诉", "法规", "检察院", "案件", "审判", "宪法", "诉讼", "法官"],
  Medical: ["医院", "医生", "患者", "疾病", "治疗", "药品", "手术", "卫生", "病人", "疫苗", "护士", "诊断"],
  Military: ["军队", "部队", "士兵", "演习", "国防", "武器", "战争", "军事", "导弹", "舰队", "将军", "解放军"],
  Politics: ["政府", "总统", "选举", "议会", "外交", "政策", "总理", "会谈", "代表团", "政党", "部长", "国务院"],
  Sports: ["比赛", "足球", "运动员", "冠军", "球队", "篮球", "奥运会", "教练", "联赛", "决赛", "进球", "体育"],
};

export const FUDAN_CATEGORIES: readonly string[] = Object.keys(VOCAB);

const FILLER = [
  "昨天", "今年", "有关方面", "记者", "报道", "表示", "进行", "工作", "问题", "情况", "发展", "方面",
  "新华社", "北京", "上海", "全国", "一些", "已经", "开始", "重要", "主要", "目前", "继续", "提出",
];
const JOINERS = ["的", "在", "和", "对", "了", "与", "将"];

export interface SyntheticOptions {
  seed: number;
  train: number;
  test: number;
  /** Sentences per text, inclusive range. */
  sentences?: [number, number];
  /** Words per sentence, inclusive range. */
  wordsPerSentence?: [number, number];
  /** Share of a sentence's words drawn from the category vocabulary. */
  topicShare?: number;
  /** Distractor labels per row, inclusive range. */
  distractors?: [number, number];
}

export interface SyntheticSplit {
  train: TaskRow[];
  test: TaskRow[];
}

/** Train rows then test rows from one seeded stream (so the two never repeat each other's draws). */
export function makeSynthetic(opts: SyntheticOptions): SyntheticSplit {
  const rng = mulberry32(opts.seed);
  const row = () => makeRow(rng, opts);
  return {
    train: Array.from({ length: opts.train }, row),
    test: Array.from({ length: opts.test }, row),
  };
}

export function toJsonl(rows: readonly TaskRow[]): string {
  return rows.map((r) => JSON.stringify({ text: r.text, category: r.category, output: r.output })).join("\n") + "\n";
}

function makeRow(rng: Rng, opts: SyntheticOptions): TaskRow {
  const [sMin, sMax] = opts.sentences ?? [2, 5];
  const [wMin, wMax] = opts.wordsPerSentence ?? [6, 12];
  const [dMin, dMax] = opts.distractors ?? [1, 3];
  const topicShare = opts.topicShare ?? 0.4;
  const label = pick(rng, FUDAN_CATEGORIES);
  const vocab = VOCAB[label] ?? [];
  const sentences: string[] = [];
  for (let s = intIn(rng, sMin, sMax); s > 0; s--) {
    let sentence = "";
    for (let w = intIn(rng, wMin, wMax); w > 0; w--) {
      sentence += rng() < topicShare ? pick(rng, vocab) : pick(rng, FILLER);
      if (w > 1 && rng() < 0.3) sentence += pick(rng, JOINERS);
    }
    sentences.push(sentence + (rng() < 0.8 ? "。" : "，"));
  }
  const others = shuffle(rng, FUDAN_CATEGORIES.filter((c) => c !== label));
  const category = shuffle(rng, [label, ...others.slice(0, intIn(rng, dMin, dMax))]);
  return { text: sentences.join(""), category, output: label };
}

// --- seeded randomness

type Rng = () => number;

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function intIn(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
