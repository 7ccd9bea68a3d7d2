<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
  <context>
    <name>desktop_chat</name>
    <message>
      <source>The local API could not listen on port {port}: {reason}</source>
      <translation>本地 API 无法在端口 {port} 上监听：{reason}</translation>
    </message>
    <message>
      <source>Nothing was saved: the API key has nowhere to be kept.</source>
      <translation>未保存任何内容：API 密钥无处可存。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: there is no such file.</source>
      <translation>无法附加 {name}：没有这个文件。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: it is a folder. Attach the files inside it instead.</source>
      <translation>无法附加 {name}：它是一个文件夹。请改为附加其中的文件。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: it cannot be read ({reason}).</source>
      <translation>无法附加 {name}：无法读取它（{reason}）。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: the file is empty.</source>
      <translation>无法附加 {name}：文件是空的。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: it is {size}, and the limit for one file is {limit} (Settings, or `attachment_max_file_mb` in the settings file).</source>
      <translation>无法附加 {name}：它有 {size}，单个文件的上限是 {limit}（见设置，或设置文件中的 `attachment_max_file_mb`）。</translation>
    </message>
    <message>
      <source>These files are {size} together, and the limit for one message is {limit}. Send them in several messages.</source>
      <translation>这些文件合计 {size}，一条消息的上限是 {limit}。请分成几条消息发送。</translation>
    </message>
    <message>
      <source>A message can carry at most {limit} files; this one has {count}.</source>
      <translation>一条消息最多可带 {limit} 个文件；这条有 {count} 个。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: the image is damaged or not an image at all.</source>
      <translation>无法附加 {name}：图片已损坏，或根本不是图片。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: {format} images are not supported. Use PNG, JPEG, WebP or GIF.</source>
      <translation>无法附加 {name}：不支持 {format} 图片。请使用 PNG、JPEG、WebP 或 GIF。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: its text is not UTF-8. Save it as UTF-8 in your editor and attach it again.</source>
      <translation>无法附加 {name}：其文本不是 UTF-8 编码。请在编辑器中另存为 UTF-8 后重新附加。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: only images (PNG, JPEG, WebP, GIF), text files and PDFs can be sent.</source>
      <translation>无法附加 {name}：只能发送图片（PNG、JPEG、WebP、GIF）、文本文件和 PDF。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: the PDF is damaged or locked with a password.</source>
      <translation>无法附加 {name}：PDF 已损坏或受密码保护。</translation>
    </message>
    <message>
      <source>{name} cannot be attached: the PDF holds no text to read (a scanned document?).</source>
      <translation>无法附加 {name}：PDF 中没有可读取的文本（可能是扫描件？）。</translation>
    </message>
    <message>
      <source>{agent} does not read images, so the image was not sent. Choose an agent whose model reads images, or turn on Vision in its settings if its model can (`desktop-chat agents edit --vision`).</source>
      <translation>{agent} 无法读取图片，因此图片没有发送。请选择一个模型能读取图片的智能体；如果它的模型可以读取图片，请在其设置中打开“视觉”（`desktop-chat agents edit --vision`）。</translation>
    </message>
    <message>
      <source>(The attached file {name} is no longer on this computer.)</source>
      <translation>（附加的文件 {name} 已不在这台电脑上。）</translation>
    </message>
    <message>
      <source>This agent's API key was kept for the last session only, so it is gone since desktop_chat restarted. Enter it again in Settings → Agents.</source>
      <translation>此智能体的 API 密钥仅为上次会话保留，desktop_chat 重启后已不存在。请在“设置 → 智能体”中重新输入。</translation>
    </message>
    <message>
      <source>A reply is still being written in this conversation. Wait for it or stop it first.</source>
      <translation>此对话中仍在生成回复。请等待其完成或先停止它。</translation>
    </message>
    <message>
      <source>No agent is set up yet. Add one in Settings (or with `desktop-chat agents add`).</source>
      <translation>还没有设置智能体。请在设置中添加一个（或使用 `desktop-chat agents add`）。</translation>
    </message>
    <message>
      <source>The message is empty.</source>
      <translation>消息为空。</translation>
    </message>
    <message>
      <source>The message is too long ({length} characters; the limit is {limit}). Attach less text or split it.</source>
      <translation>消息过长（{length} 个字符；上限为 {limit}）。请减少附带的文本或将其拆分。</translation>
    </message>
    <message>
      <source>There is no question to answer again.</source>
      <translation>没有可以重新回答的问题。</translation>
    </message>
    <message>
      <source>Only your own messages can be edited and sent again.</source>
      <translation>只有你自己发送的消息才能编辑并重新发送。</translation>
    </message>
    <message>
      <source>desktop_chat is shutting down.</source>
      <translation>desktop_chat 正在关闭。</translation>
    </message>
    <message>
      <source>The MCP server {server} could not be started: {reason}</source>
      <translation>MCP 服务器 {server} 无法启动：{reason}</translation>
    </message>
    <message>
      <source>The MCP server {server} stopped while running {tool}; it is started again on the next call.</source>
      <translation>MCP 服务器 {server} 在运行 {tool} 时停止了；下次调用时会重新启动。</translation>
    </message>
    <message>
      <source>The tool {tool} took longer than {seconds} seconds and was stopped.</source>
      <translation>工具 {tool} 运行超过 {seconds} 秒，已被停止。</translation>
    </message>
    <message>
      <source>The tool {tool} failed: {reason}</source>
      <translation>工具 {tool} 失败：{reason}</translation>
    </message>
    <message>
      <source>Something went wrong while writing the reply; the details are in the log.</source>
      <translation>生成回复时出错；详细信息已写入日志。</translation>
    </message>
    <message>
      <source>{problem} The reply is kept, and is saved the next time desktop_chat starts.</source>
      <translation>{problem} 回复已保留，将在 desktop_chat 下次启动时保存。</translation>
    </message>
    <message>
      <source>desktop_chat closed before this reply finished.</source>
      <translation>desktop_chat 在此回复完成前关闭了。</translation>
    </message>
    <message>
      <source>The model asked for tools more than {rounds} times in one reply, the most allowed; its last calls were not run. Send a message to let it go on, or raise the limit in Settings.</source>
      <translation>模型在一次回复中调用工具超过了允许的 {rounds} 次；最后的调用没有运行。发送一条消息让它继续，或在设置中提高上限。</translation>
    </message>
    <message>
      <source>There is no tool named {tool}; call one of the tools offered.</source>
      <translation>没有名为 {tool} 的工具；请调用提供的工具之一。</translation>
    </message>
    <message>
      <source>The arguments of {tool} are not a JSON object ({problem}); call it again with valid JSON.</source>
      <translation>{tool} 的参数不是 JSON 对象（{problem}）；请用有效的 JSON 重新调用。</translation>
    </message>
    <message>
      <source>The user did not allow this call of {tool}; it was not run.</source>
      <translation>用户未允许这次对 {tool} 的调用；它没有运行。</translation>
    </message>
    <message>
      <source>The reply was stopped before this call of {tool} finished.</source>
      <translation>回复在这次对 {tool} 的调用完成前被停止了。</translation>
    </message>
    <message>
      <source>desktop_chat closed before this tool call finished.</source>
      <translation>desktop_chat 在此工具调用完成前关闭了。</translation>
    </message>
    <message>
      <source>[cut: {count} more characters]</source>
      <translation>[已截断：还有 {count} 个字符]</translation>
    </message>
    <message>
      <source>This file is not an MCP servers file: it needs an mcpServers object whose entries each have a command or a url. {problem}</source>
      <translation>此文件不是 MCP 服务器文件：它需要一个 mcpServers 对象，其中每一项都有 command 或 url。{problem}</translation>
    </message>
    <message>
      <source>The MCP server {server} is turned off.</source>
      <translation>MCP 服务器 {server} 已关闭。</translation>
    </message>
    <message>
      <source>The connection to {where} was closed; try again.</source>
      <translation>与 {where} 的连接已关闭；请重试。</translation>
    </message>
    <message>
      <source>The reply grew longer than {limit} characters, the most one message can hold. It was cut there; the text so far was kept.</source>
      <translation>回复超过了 {limit} 个字符，即单条消息的上限。回复在此处被截断；已生成的文本已保留。</translation>
    </message>
    <message>
      <source>The server sent an empty answer.</source>
      <translation>服务器返回了空的回答。</translation>
    </message>
    <message>
      <source>The server sent an answer that is not text.</source>
      <translation>服务器返回的回答不是文本。</translation>
    </message>
    <message>
      <source>The server at {where} rejected the API key. Check the key in Settings.</source>
      <translation>{where} 的服务器拒绝了 API 密钥。请在设置中检查密钥。</translation>
    </message>
    <message>
      <source>The API key has no access to model '{model}' at {where}.</source>
      <translation>该 API 密钥无权访问 {where} 上的模型“{model}”。</translation>
    </message>
    <message>
      <source>The server at {where} does not know model '{model}' (or this address is not an OpenAI-compatible API). Pick another model in the agent's settings.</source>
      <translation>{where} 的服务器不认识模型“{model}”（或此地址不是兼容 OpenAI 的 API）。请在智能体设置中选择其他模型。</translation>
    </message>
    <message>
      <source>The server is rate limiting requests or the quota is used up.</source>
      <translation>服务器正在限制请求频率，或额度已用完。</translation>
    </message>
    <message>
      <source>{sentence} Try again in {seconds} s.</source>
      <translation>{sentence}请在 {seconds} 秒后重试。</translation>
    </message>
    <message>
      <source>{sentence} Wait a moment and try again.</source>
      <translation>{sentence}请稍候再试。</translation>
    </message>
    <message>
      <source>The conversation is too long for model '{model}'. Remove older messages in the context editor or start a new conversation.</source>
      <translation>对话对于模型“{model}”来说太长了。请在上下文编辑器中删除较早的消息，或开始新对话。</translation>
    </message>
    <message>
      <source>The server at {where} had an internal error (HTTP {status}){tail} Try again shortly.</source>
      <translation>{where} 处的服务器出现内部错误（HTTP {status}）{tail} 请稍后再试。</translation>
    </message>
    <message>
      <source>The server at {where} refused the request: {reason}</source>
      <translation>{where} 的服务器拒绝了请求：{reason}</translation>
    </message>
    <message>
      <source>The server at {where} ended the reply before finishing it. The partial reply was kept; use Retry or Continue.</source>
      <translation>{where} 处的服务器在回复完成前就结束了它。已保留部分回复；可以使用“重试”或“继续”。</translation>
    </message>
    <message>
      <source>The server at {where} ended the reply without sending any of it. Some servers do this when the conversation is longer than the model's context: remove older messages in the context editor or start a new conversation, then try again.</source>
      <translation>{where} 处的服务器没有发送任何内容就结束了回复。当对话超出模型的上下文长度时，有些服务器会这样做：请在上下文编辑器中删除较早的消息，或开始新的对话，然后重试。</translation>
    </message>
    <message>
      <source>The server at {where} stopped answering (timed out). The partial reply was kept; try again.</source>
      <translation>{where} 的服务器停止了响应（超时）。已保留部分回复；请重试。</translation>
    </message>
    <message>
      <source>The connection was cut while the reply was streaming. The partial reply was kept; use Retry or Continue.</source>
      <translation>回复流式传输时连接中断。已保留部分回复；请使用“重试”或“继续”。</translation>
    </message>
    <message>
      <source>The server at {where} did not answer in time (timed out); try again.</source>
      <translation>{where} 的服务器没有及时响应（超时）；请重试。</translation>
    </message>
    <message>
      <source>The server at {where} showed a certificate this computer does not trust. For a private server or a company proxy, point SSL_CERT_FILE at its certificate authority.</source>
      <translation>{where} 的服务器出示了本机不信任的证书。如果是私有服务器或公司代理，请将 SSL_CERT_FILE 指向其证书颁发机构。</translation>
    </message>
    <message>
      <source>Cannot reach the server at {where}. Is it running, and is the address right?</source>
      <translation>无法连接 {where} 的服务器。它是否在运行？地址是否正确？</translation>
    </message>
    <message>
      <source>The server at {where} sent a reply that could not be read. The partial reply was kept.</source>
      <translation>{where} 的服务器发送了无法读取的回复。已保留部分回复。</translation>
    </message>
    <message>
      <source>Unexpected error talking to {where}.</source>
      <translation>与 {where} 通信时发生意外错误。</translation>
    </message>
    <message>
      <source>No system keyring is available to store API keys safely. You can keep the key for this session only, or install a keyring (GNOME Keyring, KWallet or KeePassXC) and restart. To store keys in a file instead, set PYTHON_KEYRING_BACKEND to a file backend such as keyrings.alt.file.EncryptedKeyring.</source>
      <translation>没有可用于安全保存 API 密钥的系统密钥环。你可以只在本次会话中保留密钥，或安装密钥环（GNOME Keyring、KWallet 或 KeePassXC）后重启。若要将密钥保存到文件，请将 PYTHON_KEYRING_BACKEND 设为文件后端，例如 keyrings.alt.file.EncryptedKeyring。</translation>
    </message>
    <message>
      <source>No {what} with id {ident}.</source>
      <translation>不存在 id 为 {ident} 的{what}。</translation>
    </message>
    <message>
      <source>The data folder {folder} is read-only, so desktop_chat cannot save conversations there. Make it writable and start again; nothing in it was changed.</source>
      <translation>数据文件夹 {folder} 是只读的，desktop_chat 无法在其中保存对话。请使其可写后重新启动；其中的内容未被更改。</translation>
    </message>
    <message>
      <source>The disk is full; free some space, nothing was lost.</source>
      <translation>磁盘已满；请释放一些空间，没有丢失任何内容。</translation>
    </message>
    <message>
      <source>Cannot open the conversation database at {path}: {reason}.</source>
      <translation>无法打开位于 {path} 的对话数据库：{reason}。</translation>
    </message>
    <message>
      <source>Cannot open the conversation database at {path}.</source>
      <translation>无法打开位于 {path} 的对话数据库。</translation>
    </message>
    <message>
      <source>The conversation database is busy in another program (is desktop_chat already running?). Close it and try again.</source>
      <translation>对话数据库正被另一个程序占用（desktop_chat 是否已在运行？）。请关闭它后重试。</translation>
    </message>
    <message>
      <source>The conversation database at {path} is damaged. Back it up and start a fresh one.</source>
      <translation>位于 {path} 的对话数据库已损坏。请备份它并新建一个。</translation>
    </message>
    <message>
      <source>The data folder for {path} is read-only; the change was not saved.</source>
      <translation>{path} 的数据文件夹是只读的；更改未保存。</translation>
    </message>
    <message>
      <source>The conversation database failed: {reason}</source>
      <translation>对话数据库出错：{reason}</translation>
    </message>
    <message>
      <source>The conversation database is closed.</source>
      <translation>对话数据库已关闭。</translation>
    </message>
    <message>
      <source>The search index of the conversation database at {path} is damaged; the conversations themselves are not. Rebuild it with `desktop-chat repair`, or start desktop_chat and accept its offer to.</source>
      <translation>位于 {path} 的对话数据库的搜索索引已损坏，但对话本身完好。请用 `desktop-chat repair` 重建索引，或启动 desktop_chat 并接受它的重建提议。</translation>
    </message>
    <message>
      <source>The conversation database at {path} is empty (0 bytes): whatever it held is gone from it. Restore a backup with `desktop-chat restore FILE`, or move the file aside to start a fresh one.</source>
      <translation>位于 {path} 的对话数据库是空的（0 字节）：其中原有的内容已经不在了。请用 `desktop-chat restore FILE` 恢复备份，或把该文件移到别处以新建数据库。</translation>
    </message>
    <message>
      <source>agent</source>
      <translation>智能体</translation>
    </message>
    <message>
      <source>conversation</source>
      <translation>对话</translation>
    </message>
    <message>
      <source>message</source>
      <translation>消息</translation>
    </message>
    <message>
      <source>API token</source>
      <translation>API 令牌</translation>
    </message>
    <message>
      <source>Choose a full folder path, such as {example}.</source>
      <translation>请选择完整的文件夹路径，例如 {example}。</translation>
    </message>
    <message>
      <source>{target} is the data folder already.</source>
      <translation>{target} 已经是数据文件夹。</translation>
    </message>
    <message>
      <source>The new data folder cannot be inside the current one, nor hold it: {target}.</source>
      <translation>新的数据文件夹不能位于当前文件夹之内，也不能包含它：{target}。</translation>
    </message>
    <message>
      <source>{target} is not an empty folder; choose an empty or a new folder.</source>
      <translation>{target} 不是空文件夹；请选择一个空文件夹或新文件夹。</translation>
    </message>
    <message>
      <source>desktop_chat cannot write in {target}; choose a folder you can write to.</source>
      <translation>desktop_chat 无法写入 {target}；请选择一个可写的文件夹。</translation>
    </message>
    <message>
      <source>{target} has {free} MB free, and the data needs {needed} MB; free some space or choose another disk.</source>
      <translation>{target} 只有 {free} MB 可用空间，而数据需要 {needed} MB；请释放一些空间或选择其他磁盘。</translation>
    </message>
    <message>
      <source>The data folder was not moved to {target}: {reason}. Everything is still in {folder}.</source>
      <translation>数据文件夹没有移动到 {target}：{reason}。所有数据仍在 {folder}。</translation>
    </message>
    <message>
      <source>the copy did not match the original ({what})</source>
      <translation>副本与原件不一致（{what}）</translation>
    </message>
    <message>
      <source>{folder} does not look like a desktop_chat data folder; it was kept.</source>
      <translation>{folder} 看起来不是 desktop_chat 的数据文件夹；已保留它。</translation>
    </message>
    <message>
      <source>Name</source>
      <translation>名称</translation>
    </message>
    <message>
      <source>Description</source>
      <translation>描述</translation>
    </message>
    <message>
      <source>Icon</source>
      <translation>图标</translation>
    </message>
    <message>
      <source>An emoji or a few letters</source>
      <translation>一个表情符号或几个字母</translation>
    </message>
    <message>
      <source>Provider</source>
      <translation>服务商</translation>
    </message>
    <message>
      <source>Base URL</source>
      <translation>接口地址</translation>
    </message>
    <message>
      <source>API key</source>
      <translation>API 密钥</translation>
    </message>
    <message>
      <source>Forget key</source>
      <translation>忘记密钥</translation>
    </message>
    <message>
      <source>Forget the stored API key</source>
      <translation>删除已保存的 API 密钥</translation>
    </message>
    <message>
      <source>Test connection</source>
      <translation>测试连接</translation>
    </message>
    <message>
      <source>Temperature</source>
      <translation>温度</translation>
    </message>
    <message>
      <source>Top P</source>
      <translation>Top P</translation>
    </message>
    <message>
      <source>Maximum tokens</source>
      <translation>最大令牌数</translation>
    </message>
    <message>
      <source>Tools</source>
      <translation>工具</translation>
    </message>
    <message>
      <source>all, none, or MCP server names separated by commas</source>
      <translation>all（全部）、none（无），或以逗号分隔的 MCP 服务器名称</translation>
    </message>
    <message>
      <source>Greetings, one per line</source>
      <translation>开场白，每行一条</translation>
    </message>
    <message>
      <source>Suggested questions, one per line</source>
      <translation>推荐问题，每行一个</translation>
    </message>
    <message>
      <source>Default agent for new conversations</source>
      <translation>新对话默认使用的智能体</translation>
    </message>
    <message>
      <source>Default agent</source>
      <translation>默认智能体</translation>
    </message>
    <message>
      <source>Vision: its model reads images</source>
      <translation>视觉：其模型能读取图片</translation>
    </message>
    <message>
      <source>Vision</source>
      <translation>视觉</translation>
    </message>
    <message>
      <source>Images are sent only to agents with Vision on.</source>
      <translation>图片只会发送给打开了“视觉”的智能体。</translation>
    </message>
    <message>
      <source>Save</source>
      <translation>保存</translation>
    </message>
    <message>
      <source>Save agent</source>
      <translation>保存智能体</translation>
    </message>
    <message>
      <source>Model</source>
      <translation>模型</translation>
    </message>
    <message>
      <source>Greetings</source>
      <translation>开场白</translation>
    </message>
    <message>
      <source>Suggested questions</source>
      <translation>推荐问题</translation>
    </message>
    <message>
      <source>Sent before every conversation, in this order.</source>
      <translation>按此顺序在每次对话前发送。</translation>
    </message>
    <message>
      <source>Agent</source>
      <translation>智能体</translation>
    </message>
    <message>
      <source>Connection</source>
      <translation>连接</translation>
    </message>
    <message>
      <source>Sampling</source>
      <translation>采样</translation>
    </message>
    <message>
      <source>Preset messages</source>
      <translation>预设消息</translation>
    </message>
    <message>
      <source>Welcome</source>
      <translation>欢迎</translation>
    </message>
    <message>
      <source>Type a new key to replace it</source>
      <translation>输入新密钥以替换</translation>
    </message>
    <message>
      <source>Type a key to store it</source>
      <translation>输入密钥以保存</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>取消</translation>
    </message>
    <message>
      <source>The key was forgotten.</source>
      <translation>密钥已删除。</translation>
    </message>
    <message>
      <source>Saved. The key is kept for this session only.</source>
      <translation>已保存。密钥仅在本次运行中保留。</translation>
    </message>
    <message>
      <source>Saved.</source>
      <translation>已保存。</translation>
    </message>
    <message>
      <source>A key is stored for this agent; it is never shown.</source>
      <translation>此智能体已保存密钥；密钥不会显示。</translation>
    </message>
    <message>
      <source>A key is kept for this session only; it is forgotten when desktop_chat quits.</source>
      <translation>密钥仅在本次运行中保留；退出 desktop_chat 后会被遗忘。</translation>
    </message>
    <message>
      <source>No key stored; the OPENAI_API_KEY variable is used.</source>
      <translation>未保存密钥；将使用 OPENAI_API_KEY 环境变量。</translation>
    </message>
    <message>
      <source>No key stored. Local servers need none.</source>
      <translation>未保存密钥。本地服务器不需要密钥。</translation>
    </message>
    <message>
      <source>Not saved. Please check {problems}</source>
      <translation>未保存。请检查 {problems}</translation>
    </message>
    <message>
      <source>Forget the API key of {name}? You will have to type it again.</source>
      <translation>删除 {name} 的 API 密钥？之后需要重新输入。</translation>
    </message>
    <message>
      <source>Agents</source>
      <translation>智能体</translation>
    </message>
    <message>
      <source>New</source>
      <translation>新建</translation>
    </message>
    <message>
      <source>New agent</source>
      <translation>新建智能体</translation>
    </message>
    <message>
      <source>Duplicate</source>
      <translation>复制</translation>
    </message>
    <message>
      <source>Duplicate agent</source>
      <translation>复制智能体</translation>
    </message>
    <message>
      <source>Delete</source>
      <translation>删除</translation>
    </message>
    <message>
      <source>Delete agent</source>
      <translation>删除智能体</translation>
    </message>
    <message>
      <source>Import…</source>
      <translation>导入…</translation>
    </message>
    <message>
      <source>Import agent preset</source>
      <translation>导入智能体预设</translation>
    </message>
    <message>
      <source>Export…</source>
      <translation>导出…</translation>
    </message>
    <message>
      <source>Export agent preset</source>
      <translation>导出智能体预设</translation>
    </message>
    <message>
      <source>Agent presets (*.json);;All files (*)</source>
      <translation>智能体预设 (*.json);;所有文件 (*)</translation>
    </message>
    <message>
      <source>Agent presets (*.json)</source>
      <translation>智能体预设 (*.json)</translation>
    </message>
    <message>
      <source>{name} (copy)</source>
      <translation>{name}（副本）</translation>
    </message>
    <message>
      <source>{name} (default)</source>
      <translation>{name}（默认）</translation>
    </message>
    <message>
      <source>Exported to {path}. The API key is not included.</source>
      <translation>已导出到 {path}。不包含 API 密钥。</translation>
    </message>
    <message>
      <source>Delete the agent {name}? Its conversations are kept.</source>
      <translation>删除智能体 {name}？其对话会被保留。</translation>
    </message>
    <message>
      <source>Revoke the token {name}? Programs using it lose access at once.</source>
      <translation>吊销令牌 {name}？使用它的程序将立即失去访问权限。</translation>
    </message>
    <message>
      <source>Run the local API while the window is open</source>
      <translation>窗口打开时运行本地 API</translation>
    </message>
    <message>
      <source>Run the local API</source>
      <translation>运行本地 API</translation>
    </message>
    <message>
      <source>Port of the local API</source>
      <translation>本地 API 的端口</translation>
    </message>
    <message>
      <source>API tokens</source>
      <translation>API 令牌</translation>
    </message>
    <message>
      <source>Name of the program, e.g. my-editor</source>
      <translation>程序名称，例如 my-editor</translation>
    </message>
    <message>
      <source>Name of the new token</source>
      <translation>新令牌的名称</translation>
    </message>
    <message>
      <source>Only these agents, through the gateway:</source>
      <translation>通过网关只能使用这些智能体：</translation>
    </message>
    <message>
      <source>Agents the new token may use</source>
      <translation>新令牌可以使用的智能体</translation>
    </message>
    <message>
      <source>Keep its gateway requests as conversations</source>
      <translation>将它通过网关发出的请求保存为对话</translation>
    </message>
    <message>
      <source>Create token</source>
      <translation>创建令牌</translation>
    </message>
    <message>
      <source>Revoke</source>
      <translation>吊销</translation>
    </message>
    <message>
      <source>Revoke the selected token</source>
      <translation>吊销所选令牌</translation>
    </message>
    <message>
      <source>The new token, shown once</source>
      <translation>新令牌（只显示一次）</translation>
    </message>
    <message>
      <source>Copy</source>
      <translation>复制</translation>
    </message>
    <message>
      <source>Port</source>
      <translation>端口</translation>
    </message>
    <message>
      <source>Tokens</source>
      <translation>令牌</translation>
    </message>
    <message>
      <source>never used</source>
      <translation>从未使用</translation>
    </message>
    <message>
      <source>Copy the token now: it is not shown again.</source>
      <translation>请立即复制令牌：它不会再次显示。</translation>
    </message>
    <message>
      <source>requests kept</source>
      <translation>保存请求</translation>
    </message>
    <message>
      <source>Revoke token</source>
      <translation>吊销令牌</translation>
    </message>
    <message>
      <source>Not running. `desktop-chat serve` runs it without the window.</source>
      <translation>未运行。`desktop-chat serve` 可在不打开窗口时运行它。</translation>
    </message>
    <message>
      <source>Running at {url}</source>
      <translation>正在运行：{url}</translation>
    </message>
    <message>
      <source>agents: {names}</source>
      <translation>智能体：{names}</translation>
    </message>
    <message>
      <source>none</source>
      <translation>无</translation>
    </message>
    <message>
      <source>Open {name}</source>
      <translation>打开 {name}</translation>
    </message>
    <message>
      <source>Remove {name}</source>
      <translation>移除 {name}</translation>
    </message>
    <message>
      <source>Something unexpected went wrong; the details are in the log.</source>
      <translation>发生了意外错误；详细信息已写入日志。</translation>
    </message>
    <message>
      <source>Conversation</source>
      <translation>对话</translation>
    </message>
    <message>
      <source>Delete message</source>
      <translation>删除消息</translation>
    </message>
    <message>
      <source>Messages follow this one. Delete only it, or it and what follows?</source>
      <translation>这条消息之后还有其他消息。只删除这一条，还是连同之后的消息一起删除？</translation>
    </message>
    <message>
      <source>Only this message</source>
      <translation>只删这一条</translation>
    </message>
    <message>
      <source>It and what follows</source>
      <translation>连同之后的消息</translation>
    </message>
    <message>
      <source>Forked into a new conversation</source>
      <translation>已分叉为新对话</translation>
    </message>
    <message>
      <source>Wait for the reply being written to end, then send the files.</source>
      <translation>请等正在生成的回复结束后再发送文件。</translation>
    </message>
    <message>
      <source>Editing: sending makes a new version of this message; the old one stays</source>
      <translation>正在编辑：发送后会生成这条消息的新版本，旧版本仍会保留</translation>
    </message>
    <message>
      <source>Last reply copied</source>
      <translation>已复制最后一条回复</translation>
    </message>
    <message>
      <source>Continue</source>
      <translation>继续</translation>
    </message>
    <message>
      <source>Message — Enter to send, Shift+Enter for a new line</source>
      <translation>输入消息 — Enter 发送，Shift+Enter 换行</translation>
    </message>
    <message>
      <source>Message</source>
      <translation>消息</translation>
    </message>
    <message>
      <source>Attach…</source>
      <translation>附件…</translation>
    </message>
    <message>
      <source>Attach files</source>
      <translation>附加文件</translation>
    </message>
    <message>
      <source>Attach images, text files or PDFs (or drop them on the window, or paste)</source>
      <translation>附加图片、文本文件或 PDF（也可以拖放到窗口上，或粘贴）</translation>
    </message>
    <message>
      <source>Send</source>
      <translation>发送</translation>
    </message>
    <message>
      <source>Images, text and PDF (*.png *.jpg *.jpeg *.webp *.gif *.pdf *.txt *.md *.*)</source>
      <translation>图片、文本和 PDF (*.png *.jpg *.jpeg *.webp *.gif *.pdf *.txt *.md *.*)</translation>
    </message>
    <message>
      <source>Stop</source>
      <translation>停止</translation>
    </message>
    <message>
      <source>Context</source>
      <translation>上下文</translation>
    </message>
    <message>
      <source>Prompt — sent first, in every request</source>
      <translation>提示词 — 每次请求都最先发送</translation>
    </message>
    <message>
      <source>No prompt messages.</source>
      <translation>没有提示词消息。</translation>
    </message>
    <message>
      <source>Conversation history</source>
      <translation>对话历史</translation>
    </message>
    <message>
      <source>No messages yet.</source>
      <translation>还没有消息。</translation>
    </message>
    <message>
      <source>Add system message</source>
      <translation>添加系统消息</translation>
    </message>
    <message>
      <source>Add message</source>
      <translation>添加消息</translation>
    </message>
    <message>
      <source>Revert</source>
      <translation>还原</translation>
    </message>
    <message>
      <source>Apply</source>
      <translation>应用</translation>
    </message>
    <message>
      <source>An estimate: about one token per 4 characters of English text and one per Chinese, Japanese or Korean character, plus a few per message. The server's own count may differ.</source>
      <translation>估算值：英文约每 4 个字符一个令牌，中日韩文字约每字一个令牌，每条消息另加几个。服务器的实际计数可能不同。</translation>
    </message>
    <message>
      <source>Unsaved changes</source>
      <translation>有未保存的修改</translation>
    </message>
    <message>
      <source>A reply is being written. Apply is available again when it finishes.</source>
      <translation>正在生成回复。完成后才能再次应用。</translation>
    </message>
    <message>
      <source>Error</source>
      <translation>错误</translation>
    </message>
    <message>
      <source>Unapplied context changes</source>
      <translation>上下文修改尚未应用</translation>
    </message>
    <message>
      <source>The context of this conversation has changes that are not applied. Discard them?</source>
      <translation>此对话的上下文有尚未应用的修改。要放弃这些修改吗？</translation>
    </message>
    <message>
      <source>This conversation was deleted.</source>
      <translation>此对话已被删除。</translation>
    </message>
    <message>
      <source>Message {number} is empty. Write something in it or delete it.</source>
      <translation>消息 {number} 为空。请填写内容或将其删除。</translation>
    </message>
    <message>
      <source>About {count} tokens</source>
      <translation>约 {count} 个令牌</translation>
    </message>
    <message>
      <source>System</source>
      <translation>系统</translation>
    </message>
    <message>
      <source>User</source>
      <translation>用户</translation>
    </message>
    <message>
      <source>Assistant</source>
      <translation>助手</translation>
    </message>
    <message>
      <source>Tool</source>
      <translation>工具</translation>
    </message>
    <message>
      <source>Move up</source>
      <translation>上移</translation>
    </message>
    <message>
      <source>Move down</source>
      <translation>下移</translation>
    </message>
    <message>
      <source>Sent with this message as they are; editing the text keeps them.</source>
      <translation>这些文件按原样随此消息发送；编辑文字不会移除它们。</translation>
    </message>
    <message>
      <source>Prompt message {number}</source>
      <translation>提示词消息 {number}</translation>
    </message>
    <message>
      <source>Message {number}</source>
      <translation>消息 {number}</translation>
    </message>
    <message>
      <source>Role of {what}</source>
      <translation>{what} 的角色</translation>
    </message>
    <message>
      <source>Text of {what}</source>
      <translation>{what} 的内容</translation>
    </message>
    <message>
      <source>Move {what} up</source>
      <translation>上移 {what}</translation>
    </message>
    <message>
      <source>Move {what} down</source>
      <translation>下移 {what}</translation>
    </message>
    <message>
      <source>Delete {what}</source>
      <translation>删除 {what}</translation>
    </message>
    <message>
      <source>Files: {names} · about {count} tokens</source>
      <translation>文件：{names} · 约 {count} 个令牌</translation>
    </message>
    <message>
      <source>Pinned</source>
      <translation>已置顶</translation>
    </message>
    <message>
      <source>Today</source>
      <translation>今天</translation>
    </message>
    <message>
      <source>Yesterday</source>
      <translation>昨天</translation>
    </message>
    <message>
      <source>Previous 7 days</source>
      <translation>过去 7 天</translation>
    </message>
    <message>
      <source>Earlier</source>
      <translation>更早</translation>
    </message>
    <message>
      <source>New conversation</source>
      <translation>新对话</translation>
    </message>
    <message>
      <source>Ask {agent} anything below. Enter sends, Shift+Enter starts a new line.</source>
      <translation>在下方向 {agent} 提问。Enter 发送，Shift+Enter 换行。</translation>
    </message>
    <message>
      <source>New chat</source>
      <translation>新对话</translation>
    </message>
    <message>
      <source>New conversation (Ctrl+N)</source>
      <translation>新建对话 (Ctrl+N)</translation>
    </message>
    <message>
      <source>Search conversations (Ctrl+F)</source>
      <translation>搜索对话 (Ctrl+F)</translation>
    </message>
    <message>
      <source>Search conversations</source>
      <translation>搜索对话</translation>
    </message>
    <message>
      <source>Conversations</source>
      <translation>对话列表</translation>
    </message>
    <message>
      <source>Rename…</source>
      <translation>重命名…</translation>
    </message>
    <message>
      <source>Delete…</source>
      <translation>删除…</translation>
    </message>
    <message>
      <source>Unpin</source>
      <translation>取消置顶</translation>
    </message>
    <message>
      <source>Pin</source>
      <translation>置顶</translation>
    </message>
    <message>
      <source>Open the folder</source>
      <translation>打开文件夹</translation>
    </message>
    <message>
      <source>Move…</source>
      <translation>移动…</translation>
    </message>
    <message>
      <source>Move the data folder</source>
      <translation>移动数据文件夹</translation>
    </message>
    <message>
      <source>Cancel the move</source>
      <translation>取消移动</translation>
    </message>
    <message>
      <source>Delete the old folder</source>
      <translation>删除旧文件夹</translation>
    </message>
    <message>
      <source>Move the data folder to…</source>
      <translation>将数据文件夹移动到…</translation>
    </message>
    <message>
      <source>Conversations, backups and the crash journal are kept in:
{folder}
Moving them copies everything at the next start, checks the copy, and keeps the old folder until you delete it.</source>
      <translation>对话、备份和崩溃日志保存在：
{folder}
移动时会在下次启动时复制全部内容、校验副本，并保留旧文件夹，直到你将其删除。</translation>
    </message>
    <message>
      <source>Keep</source>
      <translation>保留</translation>
    </message>
    <message>
      <source>Moves to {target} the next time desktop_chat starts.</source>
      <translation>下次启动 desktop_chat 时移动到 {target}。</translation>
    </message>
    <message>
      <source>Moved from {folder}; that folder is kept until you delete it.</source>
      <translation>已从 {folder} 移出；该文件夹会一直保留，直到你将其删除。</translation>
    </message>
    <message>
      <source>Delete {folder} and everything in it? The data in use is not touched.</source>
      <translation>删除 {folder} 及其中的全部内容？正在使用的数据不受影响。</translation>
    </message>
    <message>
      <source>Connect to a model</source>
      <translation>连接一个模型</translation>
    </message>
    <message>
      <source>Choose where your model runs. You can change this, and add more agents, later in Settings.</source>
      <translation>选择模型运行的位置。之后可以在设置中更改，并添加更多智能体。</translation>
    </message>
    <message>
      <source>Find models</source>
      <translation>查找模型</translation>
    </message>
    <message>
      <source>Start chatting</source>
      <translation>开始聊天</translation>
    </message>
    <message>
      <source>API key (optional)</source>
      <translation>API 密钥（可选）</translation>
    </message>
    <message>
      <source>{provider} needs an API key.</source>
      <translation>{provider} 需要 API 密钥。</translation>
    </message>
    <message>
      <source>Please check {problems}</source>
      <translation>请检查 {problems}</translation>
    </message>
    <message>
      <source>No keyring</source>
      <translation>没有密钥环</translation>
    </message>
    <message>
      <source>No system keyring is available to store the API key safely. Keep the key for this session only? It is forgotten when desktop_chat quits. To keep keys, install a keyring (GNOME Keyring, KWallet or KeePassXC) and restart.</source>
      <translation>没有可用的系统密钥环来安全保存 API 密钥。是否只在本次运行期间保留该密钥？退出 desktop_chat 后它会被遗忘。如需长期保存，请安装密钥环（GNOME Keyring、KWallet 或 KeePassXC）后重新启动。</translation>
    </message>
    <message>
      <source>Keep for this session</source>
      <translation>仅在本次运行中保留</translation>
    </message>
    <message>
      <source>Keep the damaged file as a backup and start with an empty database?</source>
      <translation>将损坏的文件保留为备份，并使用空数据库重新开始？</translation>
    </message>
    <message>
      <source>Something unexpected went wrong. Your conversations are safe and the app keeps working; the details are in the log file.</source>
      <translation>发生了意外错误。你的对话是安全的，应用仍可继续使用；详细信息已写入日志文件。</translation>
    </message>
    <message>
      <source>Rebuild the search index now? Your conversations are kept as they are.</source>
      <translation>现在重建搜索索引吗？您的对话将原样保留。</translation>
    </message>
    <message>
      <source>Search</source>
      <translation>搜索</translation>
    </message>
    <message>
      <source>Settings</source>
      <translation>设置</translation>
    </message>
    <message>
      <source>Manage…</source>
      <translation>管理…</translation>
    </message>
    <message>
      <source>Copy the last reply</source>
      <translation>复制最后一条回复</translation>
    </message>
    <message>
      <source>Quit</source>
      <translation>退出</translation>
    </message>
    <message>
      <source>Enter the key</source>
      <translation>输入密钥</translation>
    </message>
    <message>
      <source>Made</source>
      <translation>创建时间</translation>
    </message>
    <message>
      <source>Why</source>
      <translation>原因</translation>
    </message>
    <message>
      <source>Size</source>
      <translation>大小</translation>
    </message>
    <message>
      <source>File</source>
      <translation>文件</translation>
    </message>
    <message>
      <source>Scheduled</source>
      <translation>定时</translation>
    </message>
    <message>
      <source>By hand</source>
      <translation>手动</translation>
    </message>
    <message>
      <source>Before a restore</source>
      <translation>恢复之前</translation>
    </message>
    <message>
      <source>Before an upgrade</source>
      <translation>升级之前</translation>
    </message>
    <message>
      <source>Backups</source>
      <translation>备份</translation>
    </message>
    <message>
      <source>Back up now</source>
      <translation>立即备份</translation>
    </message>
    <message>
      <source>Restore at next start…</source>
      <translation>下次启动时恢复…</translation>
    </message>
    <message>
      <source>Cancel the restore</source>
      <translation>取消恢复</translation>
    </message>
    <message>
      <source>Open folder</source>
      <translation>打开文件夹</translation>
    </message>
    <message>
      <source>Backing up…</source>
      <translation>正在备份…</translation>
    </message>
    <message>
      <source>The restore was cancelled.</source>
      <translation>已取消恢复。</translation>
    </message>
    <message>
      <source>Data folder: {data}
Backups: {folder}</source>
      <translation>数据文件夹：{data}
备份：{folder}</translation>
    </message>
    <message>
      <source>Restore the conversations from {made}? They replace the current ones the next time desktop_chat starts; the current ones are backed up first. Close desktop_chat and start it again to finish.</source>
      <translation>要恢复 {made} 的对话吗？下次启动 desktop_chat 时它们将替换当前的对话；当前的对话会先被备份。关闭 desktop_chat 并重新启动即可完成。</translation>
    </message>
    <message>
      <source>{size:.1f} MB</source>
      <translation>{size:.1f} MB</translation>
    </message>
    <message>
      <source>{name} will be restored the next time desktop_chat starts.</source>
      <translation>下次启动 desktop_chat 时将恢复 {name}。</translation>
    </message>
    <message>
      <source>Backed up to {path}.</source>
      <translation>已备份到 {path}。</translation>
    </message>
    <message>
      <source>No requests in this period</source>
      <translation>此期间没有请求</translation>
    </message>
    <message>
      <source>Title</source>
      <translation>标题</translation>
    </message>
    <message>
      <source>Messages</source>
      <translation>消息数</translation>
    </message>
    <message>
      <source>Last activity</source>
      <translation>最近活动</translation>
    </message>
    <message>
      <source>Owner</source>
      <translation>所有者</translation>
    </message>
    <message>
      <source>Search titles and messages</source>
      <translation>搜索标题和消息</translation>
    </message>
    <message>
      <source>Agent to move the selected conversations to</source>
      <translation>所选对话要改用的智能体</translation>
    </message>
    <message>
      <source>Change agent</source>
      <translation>更换智能体</translation>
    </message>
    <message>
      <source>Export conversations</source>
      <translation>导出对话</translation>
    </message>
    <message>
      <source>Markdown (*.md);;JSON (*.json)</source>
      <translation>Markdown (*.md);;JSON (*.json)</translation>
    </message>
    <message>
      <source>Agent:</source>
      <translation>智能体：</translation>
    </message>
    <message>
      <source>{count} conversations match</source>
      <translation>{count} 个对话匹配</translation>
    </message>
    <message>
      <source>{count} conversations</source>
      <translation>{count} 个对话</translation>
    </message>
    <message>
      <source>Delete “{title}” and all its messages? This cannot be undone.</source>
      <translation>删除“{title}”及其全部消息？此操作无法撤销。</translation>
    </message>
    <message>
      <source>Delete {count} conversations and all their messages? This cannot be undone.</source>
      <translation>删除这 {count} 个对话及其全部消息？此操作无法撤销。</translation>
    </message>
    <message>
      <source>Delete conversations</source>
      <translation>删除对话</translation>
    </message>
    <message>
      <source>Exported to {path}</source>
      <translation>已导出到 {path}</translation>
    </message>
    <message>
      <source>window</source>
      <translation>窗口</translation>
    </message>
    <message>
      <source>State</source>
      <translation>状态</translation>
    </message>
    <message>
      <source>Tokens so far</source>
      <translation>已生成令牌</translation>
    </message>
    <message>
      <source>Tokens/s</source>
      <translation>令牌/秒</translation>
    </message>
    <message>
      <source>Elapsed</source>
      <translation>已用时间</translation>
    </message>
    <message>
      <source>Waiting for a slot</source>
      <translation>等待空闲名额</translation>
    </message>
    <message>
      <source>Request slots in use</source>
      <translation>正在使用的请求名额</translation>
    </message>
    <message>
      <source>Replies in flight</source>
      <translation>进行中的回复</translation>
    </message>
    <message>
      <source>Errors in the last hour</source>
      <translation>最近一小时的错误</translation>
    </message>
    <message>
      <source>Waiting for the first token</source>
      <translation>等待第一个令牌</translation>
    </message>
    <message>
      <source>Streaming</source>
      <translation>输出中</translation>
    </message>
    <message>
      <source>Time</source>
      <translation>时间</translation>
    </message>
    <message>
      <source>Request slots:</source>
      <translation>请求名额：</translation>
    </message>
    <message>
      <source>A request through the gateway</source>
      <translation>通过网关的请求</translation>
    </message>
    <message>
      <source>Through the API: {client}</source>
      <translation>通过 API：{client}</translation>
    </message>
    <message>
      <source>Failed</source>
      <translation>失败</translation>
    </message>
    <message>
      <source>{running} of {limit}</source>
      <translation>{running} / {limit}</translation>
    </message>
    <message>
      <source>Waiting for a slot: {queued}</source>
      <translation>排队等待：{queued}</translation>
    </message>
    <message>
      <source>Errors in the last hour: {count}</source>
      <translation>最近一小时的错误：{count}</translation>
    </message>
    <message>
      <source>Key</source>
      <translation>密钥</translation>
    </message>
    <message>
      <source>Last error</source>
      <translation>最近错误</translation>
    </message>
    <message>
      <source>Seen</source>
      <translation>发生时间</translation>
    </message>
    <message>
      <source>Test</source>
      <translation>测试</translation>
    </message>
    <message>
      <source>Result</source>
      <translation>结果</translation>
    </message>
    <message>
      <source>Set</source>
      <translation>已设置</translation>
    </message>
    <message>
      <source>This session only</source>
      <translation>仅本次运行</translation>
    </message>
    <message>
      <source>From OPENAI_API_KEY</source>
      <translation>来自 OPENAI_API_KEY</translation>
    </message>
    <message>
      <source>Missing</source>
      <translation>缺失</translation>
    </message>
    <message>
      <source>Key rejected</source>
      <translation>密钥被拒绝</translation>
    </message>
    <message>
      <source>Not permitted</source>
      <translation>无权限</translation>
    </message>
    <message>
      <source>Model not found</source>
      <translation>找不到模型</translation>
    </message>
    <message>
      <source>Rate limited</source>
      <translation>请求过于频繁</translation>
    </message>
    <message>
      <source>Context too long</source>
      <translation>上下文过长</translation>
    </message>
    <message>
      <source>Bad request</source>
      <translation>请求无效</translation>
    </message>
    <message>
      <source>Server error</source>
      <translation>服务器错误</translation>
    </message>
    <message>
      <source>Timed out</source>
      <translation>超时</translation>
    </message>
    <message>
      <source>Cannot connect</source>
      <translation>无法连接</translation>
    </message>
    <message>
      <source>Stream cut off</source>
      <translation>输出中断</translation>
    </message>
    <message>
      <source>Malformed reply</source>
      <translation>回复格式错误</translation>
    </message>
    <message>
      <source>No key</source>
      <translation>没有密钥</translation>
    </message>
    <message>
      <source>Providers</source>
      <translation>服务提供方</translation>
    </message>
    <message>
      <source>Keys are never shown here, only whether one is stored. “Rejected” means the server refused the key on the last request and none has worked since.</source>
      <translation>这里从不显示密钥，只显示是否已保存。“已拒绝”表示服务器在最近一次请求中拒绝了该密钥，且此后没有请求成功。</translation>
    </message>
    <message>
      <source>Testing…</source>
      <translation>正在测试…</translation>
    </message>
    <message>
      <source>Rejected</source>
      <translation>已拒绝</translation>
    </message>
    <message>
      <source>None</source>
      <translation>无</translation>
    </message>
    <message>
      <source>Test {name}</source>
      <translation>测试 {name}</translation>
    </message>
    <message>
      <source>Works: {count} models</source>
      <translation>可用：{count} 个模型</translation>
    </message>
    <message>
      <source>The server refused this key on {when}; no request has worked since.</source>
      <translation>服务器于 {when} 拒绝了此密钥，此后没有请求成功。</translation>
    </message>
    <message>
      <source>Last 24 hours</source>
      <translation>最近 24 小时</translation>
    </message>
    <message>
      <source>Last 7 days</source>
      <translation>最近 7 天</translation>
    </message>
    <message>
      <source>Last 30 days</source>
      <translation>最近 30 天</translation>
    </message>
    <message>
      <source>All time</source>
      <translation>全部时间</translation>
    </message>
    <message>
      <source>Per day</source>
      <translation>按天</translation>
    </message>
    <message>
      <source>Per agent</source>
      <translation>按智能体</translation>
    </message>
    <message>
      <source>Per model</source>
      <translation>按模型</translation>
    </message>
    <message>
      <source>Day</source>
      <translation>日期</translation>
    </message>
    <message>
      <source>Requests</source>
      <translation>请求数</translation>
    </message>
    <message>
      <source>Tokens in</source>
      <translation>输入令牌</translation>
    </message>
    <message>
      <source>Tokens out</source>
      <translation>输出令牌</translation>
    </message>
    <message>
      <source>Errors</source>
      <translation>错误</translation>
    </message>
    <message>
      <source>First token, median / p95</source>
      <translation>首个令牌（中位数 / p95）</translation>
    </message>
    <message>
      <source>Duration, median / p95</source>
      <translation>耗时（中位数 / p95）</translation>
    </message>
    <message>
      <source>Cost</source>
      <translation>费用</translation>
    </message>
    <message>
      <source>Prices per million tokens</source>
      <translation>每百万令牌价格</translation>
    </message>
    <message>
      <source>Period</source>
      <translation>时间范围</translation>
    </message>
    <message>
      <source>Grouping</source>
      <translation>分组方式</translation>
    </message>
    <message>
      <source>Export CSV…</source>
      <translation>导出 CSV…</translation>
    </message>
    <message>
      <source>Requests per day</source>
      <translation>每日请求数</translation>
    </message>
    <message>
      <source>Tokens per day</source>
      <translation>每日令牌数</translation>
    </message>
    <message>
      <source>Statistics</source>
      <translation>统计</translation>
    </message>
    <message>
      <source>For the cost estimate; in your billing currency. Blank: no price.</source>
      <translation>用于估算费用，使用你的结算货币。留空表示未定价。</translation>
    </message>
    <message>
      <source>Export statistics</source>
      <translation>导出统计</translation>
    </message>
    <message>
      <source>CSV (*.csv)</source>
      <translation>CSV (*.csv)</translation>
    </message>
    <message>
      <source>(no agent)</source>
      <translation>（无智能体）</translation>
    </message>
    <message>
      <source>Input / 1M</source>
      <translation>输入 / 百万</translation>
    </message>
    <message>
      <source>Output / 1M</source>
      <translation>输出 / 百万</translation>
    </message>
    <message>
      <source>Period:</source>
      <translation>时间范围：</translation>
    </message>
    <message>
      <source>Type a number, like 2.5</source>
      <translation>请输入数字，例如 2.5</translation>
    </message>
    <message>
      <source>{requests} requests · {tokens_in} tokens in · {tokens_out} tokens out · {errors} errors</source>
      <translation>{requests} 个请求 · 输入 {tokens_in} 令牌 · 输出 {tokens_out} 令牌 · {errors} 个错误</translation>
    </message>
    <message>
      <source>First token: {ttft} median, {ttft95} p95 · Duration: {duration} median, {duration95} p95 · Estimated cost: {cost}</source>
      <translation>首个令牌：中位数 {ttft}，p95 {ttft95} · 耗时：中位数 {duration}，p95 {duration95} · 估算费用：{cost}</translation>
    </message>
    <message>
      <source>In</source>
      <translation>输入</translation>
    </message>
    <message>
      <source>Out</source>
      <translation>输出</translation>
    </message>
    <message>
      <source>No price set for: {models}</source>
      <translation>未设置价格：{models}</translation>
    </message>
    <message>
      <source>Live</source>
      <translation>实时</translation>
    </message>
    <message>
      <source>Refresh</source>
      <translation>刷新</translation>
    </message>
    <message>
      <source>Read agents, conversations and usage again (F5)</source>
      <translation>重新读取智能体、对话和用量 (F5)</translation>
    </message>
    <message>
      <source>Manage — {app}</source>
      <translation>管理 — {app}</translation>
    </message>
    <message>
      <source>code</source>
      <translation>代码</translation>
    </message>
    <message>
      <source>Tool rounds per reply at most</source>
      <translation>每次回复最多的工具调用轮数</translation>
    </message>
    <message>
      <source> s</source>
      <translation> 秒</translation>
    </message>
    <message>
      <source>Seconds a tool call may take</source>
      <translation>一次工具调用最长的秒数</translation>
    </message>
    <message>
      <source>MCP servers</source>
      <translation>MCP 服务器</translation>
    </message>
    <message>
      <source>Program (stdio)</source>
      <translation>程序（stdio）</translation>
    </message>
    <message>
      <source>Address (streamable HTTP)</source>
      <translation>地址（流式 HTTP）</translation>
    </message>
    <message>
      <source>One KEY=value per line; kept in the keyring. Empty keeps those stored.</source>
      <translation>每行一个 KEY=value；保存在密钥环中。留空则保留已保存的值。</translation>
    </message>
    <message>
      <source>One Name: value per line; kept in the keyring. Empty keeps those stored.</source>
      <translation>每行一个 名称: 值；保存在密钥环中。留空则保留已保存的值。</translation>
    </message>
    <message>
      <source>Turned on</source>
      <translation>已启用</translation>
    </message>
    <message>
      <source>Kind</source>
      <translation>类型</translation>
    </message>
    <message>
      <source>Command</source>
      <translation>命令</translation>
    </message>
    <message>
      <source>Working folder</source>
      <translation>工作文件夹</translation>
    </message>
    <message>
      <source>Environment</source>
      <translation>环境变量</translation>
    </message>
    <message>
      <source>URL</source>
      <translation>URL</translation>
    </message>
    <message>
      <source>Headers</source>
      <translation>请求头</translation>
    </message>
    <message>
      <source>Import MCP servers</source>
      <translation>导入 MCP 服务器</translation>
    </message>
    <message>
      <source>New server</source>
      <translation>新建服务器</translation>
    </message>
    <message>
      <source>Save server</source>
      <translation>保存服务器</translation>
    </message>
    <message>
      <source>Test: list its tools</source>
      <translation>测试：列出其工具</translation>
    </message>
    <message>
      <source>Remove server</source>
      <translation>删除服务器</translation>
    </message>
    <message>
      <source>Import JSON…</source>
      <translation>导入 JSON…</translation>
    </message>
    <message>
      <source>(off)</source>
      <translation>（已关闭）</translation>
    </message>
    <message>
      <source>kept in the keyring</source>
      <translation>保存在密钥环中</translation>
    </message>
    <message>
      <source>Starting {server}…</source>
      <translation>正在启动 {server}…</translation>
    </message>
    <message>
      <source>Tools: {names}</source>
      <translation>工具：{names}</translation>
    </message>
    <message>
      <source>Imported: {names}</source>
      <translation>已导入：{names}</translation>
    </message>
    <message>
      <source>Stopped</source>
      <translation>已停止</translation>
    </message>
    <message>
      <source>Interrupted</source>
      <translation>已中断</translation>
    </message>
    <message>
      <source>Edit</source>
      <translation>编辑</translation>
    </message>
    <message>
      <source>Retry</source>
      <translation>重试</translation>
    </message>
    <message>
      <source>Regenerate</source>
      <translation>重新生成</translation>
    </message>
    <message>
      <source>Fork</source>
      <translation>分叉</translation>
    </message>
    <message>
      <source>Fork from here: a new conversation with the messages up to this one</source>
      <translation>从此处分叉：用到这条为止的消息新建一个对话</translation>
    </message>
    <message>
      <source>Writing…</source>
      <translation>生成中…</translation>
    </message>
    <message>
      <source>Reasoning</source>
      <translation>思考过程</translation>
    </message>
    <message>
      <source>Message copied</source>
      <translation>已复制消息</translation>
    </message>
    <message>
      <source>Code copied</source>
      <translation>已复制代码</translation>
    </message>
    <message>
      <source>Asked to run {tools}</source>
      <translation>请求运行 {tools}</translation>
    </message>
    <message>
      <source>Connected, but the server lists no models.</source>
      <translation>已连接，但服务器没有列出任何模型。</translation>
    </message>
    <message>
      <source>Connecting to {url}…</source>
      <translation>正在连接 {url}…</translation>
    </message>
    <message>
      <source>Connected — 1 model</source>
      <translation>已连接 — 1 个模型</translation>
    </message>
    <message>
      <source>Connected — {count} models</source>
      <translation>已连接 — {count} 个模型</translation>
    </message>
    <message>
      <source>Server default</source>
      <translation>服务器默认值</translation>
    </message>
    <message>
      <source>{name}: server default</source>
      <translation>{name}：服务器默认值</translation>
    </message>
    <message>
      <source>Role</source>
      <translation>角色</translation>
    </message>
    <message>
      <source>Message text</source>
      <translation>消息内容</translation>
    </message>
    <message>
      <source>Up</source>
      <translation>上移</translation>
    </message>
    <message>
      <source>Down</source>
      <translation>下移</translation>
    </message>
    <message>
      <source>Remove</source>
      <translation>移除</translation>
    </message>
    <message>
      <source>Add preset message</source>
      <translation>添加预设消息</translation>
    </message>
    <message>
      <source>Move message up</source>
      <translation>上移消息</translation>
    </message>
    <message>
      <source>Move message down</source>
      <translation>下移消息</translation>
    </message>
    <message>
      <source>Remove message</source>
      <translation>移除消息</translation>
    </message>
    <message>
      <source>GPT models from OpenAI; needs an API key.</source>
      <translation>OpenAI 的 GPT 模型；需要 API 密钥。</translation>
    </message>
    <message>
      <source>Models running on this computer with Ollama; no key needed.</source>
      <translation>在本机通过 Ollama 运行的模型；无需密钥。</translation>
    </message>
    <message>
      <source>The model loaded in LM Studio's local server; no key needed.</source>
      <translation>LM Studio 本地服务器中加载的模型；无需密钥。</translation>
    </message>
    <message>
      <source>A llama.cpp server on this computer; no key needed.</source>
      <translation>本机上的 llama.cpp 服务器；无需密钥。</translation>
    </message>
    <message>
      <source>DeepSeek's models; needs an API key.</source>
      <translation>DeepSeek 的模型；需要 API 密钥。</translation>
    </message>
    <message>
      <source>Custom (OpenAI-compatible)</source>
      <translation>自定义（兼容 OpenAI）</translation>
    </message>
    <message>
      <source>Any other OpenAI-compatible server: vLLM, LiteLLM, a gateway…</source>
      <translation>任何其他兼容 OpenAI 的服务器：vLLM、LiteLLM、网关…</translation>
    </message>
    <message>
      <source>General</source>
      <translation>常规</translation>
    </message>
    <message>
      <source>Appearance</source>
      <translation>外观</translation>
    </message>
    <message>
      <source>Data</source>
      <translation>数据</translation>
    </message>
    <message>
      <source>Local API</source>
      <translation>本地 API</translation>
    </message>
    <message>
      <source>Follow the system</source>
      <translation>跟随系统</translation>
    </message>
    <message>
      <source>Light</source>
      <translation>浅色</translation>
    </message>
    <message>
      <source>Dark</source>
      <translation>深色</translation>
    </message>
    <message>
      <source>Save settings</source>
      <translation>保存设置</translation>
    </message>
    <message>
      <source>Maximum concurrent requests</source>
      <translation>最大并发请求数</translation>
    </message>
    <message>
      <source>Request timeout in seconds</source>
      <translation>请求超时（秒）</translation>
    </message>
    <message>
      <source>None — e.g. http://proxy.example:3128</source>
      <translation>无 — 例如 http://proxy.example:3128</translation>
    </message>
    <message>
      <source>HTTP proxy</source>
      <translation>HTTP 代理</translation>
    </message>
    <message>
      <source>Name new conversations automatically</source>
      <translation>自动为新对话命名</translation>
    </message>
    <message>
      <source>Automatic titles</source>
      <translation>自动标题</translation>
    </message>
    <message>
      <source> MB</source>
      <translation> MB</translation>
    </message>
    <message>
      <source>Largest file to attach, in MB</source>
      <translation>可附加的最大文件（MB）</translation>
    </message>
    <message>
      <source> px</source>
      <translation> 像素</translation>
    </message>
    <message>
      <source>Longest side of images sent, in pixels</source>
      <translation>发送图片的最长边（像素）</translation>
    </message>
    <message>
      <source>Request timeout</source>
      <translation>请求超时</translation>
    </message>
    <message>
      <source>Largest file to attach</source>
      <translation>可附加的最大文件</translation>
    </message>
    <message>
      <source>Scale images down to</source>
      <translation>图片缩小到</translation>
    </message>
    <message>
      <source>Theme</source>
      <translation>主题</translation>
    </message>
    <message>
      <source>Default</source>
      <translation>默认</translation>
    </message>
    <message>
      <source> pt</source>
      <translation> 磅</translation>
    </message>
    <message>
      <source>Font size</source>
      <translation>字号</translation>
    </message>
    <message>
      <source>Language</source>
      <translation>语言</translation>
    </message>
    <message>
      <source>A new language is used from the next start of desktop_chat.</source>
      <translation>新的语言将在 desktop_chat 下次启动时生效。</translation>
    </message>
    <message>
      <source>The HTTP proxy must be an address like http://proxy.example:3128.</source>
      <translation>HTTP 代理必须是类似 http://proxy.example:3128 的地址。</translation>
    </message>
    <message>
      <source>The settings could not be written: {reason}</source>
      <translation>无法写入设置：{reason}</translation>
    </message>
    <message>
      <source>Rename conversation</source>
      <translation>重命名对话</translation>
    </message>
    <message>
      <source>Title:</source>
      <translation>标题：</translation>
    </message>
    <message>
      <source>Delete conversation</source>
      <translation>删除对话</translation>
    </message>
    <message>
      <source>Export conversation</source>
      <translation>导出对话</translation>
    </message>
    <message>
      <source>No conversations yet. Press Ctrl+N or New chat to start one.</source>
      <translation>还没有对话。按 Ctrl+N 或点击“新对话”开始。</translation>
    </message>
    <message>
      <source>No conversation matches “{query}”. Try fewer or other words.</source>
      <translation>没有与“{query}”匹配的对话。试试更少或其他的词。</translation>
    </message>
    <message>
      <source>running…</source>
      <translation>运行中…</translation>
    </message>
    <message>
      <source>[{count} more characters not shown]</source>
      <translation>[还有 {count} 个字符未显示]</translation>
    </message>
    <message>
      <source>Arguments</source>
      <translation>参数</translation>
    </message>
    <message>
      <source>Run once</source>
      <translation>运行一次</translation>
    </message>
    <message>
      <source>Always run this tool</source>
      <translation>总是运行此工具</translation>
    </message>
    <message>
      <source>Deny</source>
      <translation>拒绝</translation>
    </message>
    <message>
      <source>error · {took}</source>
      <translation>出错 · {took}</translation>
    </message>
    <message>
      <source>done · {took}</source>
      <translation>完成 · {took}</translation>
    </message>
    <message>
      <source>Tool {name} · {state}</source>
      <translation>工具 {name} · {state}</translation>
    </message>
    <message>
      <source>Let the MCP server {server} run its tool {tool} with these arguments?</source>
      <translation>允许 MCP 服务器 {server} 用以下参数运行其工具 {tool} 吗？</translation>
    </message>
    <message>
      <source>Previous version (Alt+Left)</source>
      <translation>上一个版本 (Alt+Left)</translation>
    </message>
    <message>
      <source>Next version (Alt+Right)</source>
      <translation>下一个版本 (Alt+Right)</translation>
    </message>
    <message>
      <source>Version {number} of {count}</source>
      <translation>第 {number} 个版本，共 {count} 个</translation>
    </message>
    <message>
      <source>The new language is used from the next start of desktop_chat.</source>
      <translation>新的语言将在 desktop_chat 下次启动时生效。</translation>
    </message>
    <message>
      <source>Dismiss</source>
      <translation>关闭</translation>
    </message>
    <message>
      <source>Agent for this conversation</source>
      <translation>此对话使用的智能体</translation>
    </message>
    <message>
      <source>Show what the next request will send</source>
      <translation>显示下一次请求将发送的内容</translation>
    </message>
    <message>
      <source>Conversations in bulk, providers, statistics (Ctrl+M)</source>
      <translation>批量管理对话、服务商与统计 (Ctrl+M)</translation>
    </message>
    <message>
      <source>Settings (Ctrl+,)</source>
      <translation>设置 (Ctrl+,)</translation>
    </message>
    <message>
      <source>Queued, sent when the reply ends: {text}</source>
      <translation>已排队，当前回复结束后发送：{text}</translation>
    </message>
  </context>
</TS>
